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


# What attribute-based instance selection says when it picks Graviton only.
GRAVITON_MANUFACTURER = "amazon-web-services"
ARM64_ARCHITECTURE = "arm64"


def requirements_problem(requirements: object) -> str | None:
    """None when attribute-based selection (`InstanceRequirements`) can launch Graviton only, else what it allows.

    Graviton only means: `Architectures` is `[arm64]`, `CpuManufacturers` is `[amazon-web-services]`, or every
    `AllowedInstanceTypes` pattern names a Graviton family.
    """
    if not isinstance(requirements, dict):
        return f"InstanceRequirements {requirements!r} cannot be read"
    if requirements.get("Architectures") == [ARM64_ARCHITECTURE]:
        return None
    if requirements.get("CpuManufacturers") == [GRAVITON_MANUFACTURER]:
        return None
    allowed = requirements.get("AllowedInstanceTypes")
    if isinstance(allowed, list) and allowed and all(isinstance(t, str) and is_graviton(t) for t in allowed):
        return None
    keys = ("Architectures", "CpuManufacturers", "AllowedInstanceTypes")
    said = {k: requirements[k] for k in keys if k in requirements}
    return f"InstanceRequirements {said or 'with no CPU restriction'} can launch x86 instances"
