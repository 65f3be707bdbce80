"""Which EC2 instance types are Graviton: by family, and unknown families are refused, not guessed."""

from __future__ import annotations

# EC2 DescribeInstanceTypes is the authority; this list follows it (late 2026). A `g` as the family letter
# (g4dn, g5, g6) is an x86 GPU instance: only g5g is Graviton.
GRAVITON_FAMILIES = frozenset(
    {
        "a1",
        "t4g",
        "m6g", "m6gd", "m7g", "m7gd", "m8g", "m8gd",
        "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "c8gd",
        "r6g", "r6gd", "r7g", "r7gd", "r8g", "r8gd",
        "x2gd", "x8g",
        "g5g",
        "i4g", "im4gn", "is4gen", "i8g",
        "hpc7g",
    }
)  # fmt: skip


def family(instance_type: str) -> str:
    """`m7g.large` -> `m7g`; Batch also accepts a bare family (`m7g`)."""
    return instance_type.split(".", 1)[0].lower()


def is_graviton(instance_type: str) -> bool:
    return family(instance_type) in GRAVITON_FAMILIES
