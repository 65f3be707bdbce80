"""ExistingImage: an image already in an ECR repository that this app did not build, by digest or by tag."""

from __future__ import annotations

import re

from aws_cdk import Token
from aws_cdk import aws_ecr as ecr

from constructs import Construct

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# ECR's tag grammar; a tag that reads like a digest is refused, so the two forms never mix.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$")


class ExistingImage(Construct):
    """An image another team or pipeline pushed to ECR, for ArmImageFunction, ArmFargateService and ArmEksCluster.

    Nothing is built and nothing is waited for: workloads refer to ``repository`` at ``image_tag`` (a tag or a
    ``sha256:`` digest). The function or task is arm64 whatever the image is, so an image that is not linux/arm64
    fails when it starts (Lambda at invoke, ECS at task start, rolled back by the circuit breaker), and
    ``make verify`` reports it: it checks every image the functions and tasks run, wherever it lives.

    Create it with ``from_digest`` (the safe form: the exact image, every deploy) or ``from_tag``.
    """

    def __init__(self, scope: Construct, id: str, *, repository: ecr.IRepository, tag_or_digest: str) -> None:
        super().__init__(scope, id)
        self.repository = repository
        # Workloads pass it as ECR's tag-or-digest (`repo:tag` or `repo@sha256:...`).
        self.image_tag = tag_or_digest
        self.image_uri = repository.repository_uri_for_tag_or_digest(tag_or_digest)
        # What workloads depend on: nothing is built, so this construct, which holds no resource (no DependsOn).
        self.image: Construct = self

    @classmethod
    def from_digest(cls, scope: Construct, id: str, *, repository: ecr.IRepository, digest: str) -> ExistingImage:
        """The image with this manifest digest (``sha256:`` and 64 hex digits): pinned, so every deploy and every
        task start runs the same bytes, whatever happens to the repository's tags.

        :param repository: the repository that holds it (``ecr.Repository.from_repository_name`` or
            ``from_repository_arn`` for another account's; that repository's policy must let this account pull).
        :param digest: the image manifest's digest, as ``docker buildx imagetools inspect`` or
            ``aws ecr describe-images`` show it. For Lambda, the digest of a single-platform manifest, not an index.
        """
        if not Token.is_unresolved(digest) and not _DIGEST.match(digest):
            raise ValueError(f"ExistingImage: digest '{digest}' is not 'sha256:' and 64 lower-case hex digits")
        return cls(scope, id, repository=repository, tag_or_digest=digest)

    @classmethod
    def from_tag(cls, scope: Construct, id: str, *, repository: ecr.IRepository, tag: str) -> ExistingImage:
        """The image the tag names when Lambda creates or updates the function, and whenever ECS starts a task.

        The tag is trusted as it is: if it moves, new tasks run the new image while older ones keep the old.
        Prefer ``from_digest``, or a repository with immutable tags; ``make verify`` checks what the tag names.

        :param repository: the repository that holds it (as for ``from_digest``).
        :param tag: the tag (ECR's grammar: letters, digits, ``_``, ``.``, ``-``; 300 at most).
        """
        if not Token.is_unresolved(tag) and not _TAG.match(tag):
            raise ValueError(
                f"ExistingImage: tag '{tag}' is not an image tag (letters, digits, '_', '.', '-'; 300 at most);"
                " a digest goes to from_digest"
            )
        return cls(scope, id, repository=repository, tag_or_digest=tag)
