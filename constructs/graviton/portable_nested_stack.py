"""PortableNestedStack: a nested stack whose template is the same wherever its parent sits."""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast

from aws_cdk import CfnElement, CfnOutput, CfnParameter, CfnResource, Names, NestedStack, Stack

from constructs import Construct, IConstruct

# CDK's id for the parameter that carries a parent's value into a nested stack: this prefix, the value's resource's
# unique id (its full construct path, with a hash of it) and the attribute (`Ref`, `Arn`, ...). The id of the output
# that carries a nested value out to the parent is the same without the prefix.
_PARAMETER_PREFIX = "reference-to-"
_PORTABLE_PARAMETER_PREFIX = "referenceto"
# CloudFormation's longest logical id.
_MAX_LOGICAL_ID = 255


class PortableNestedStack(NestedStack):
    """A NestedStack that names the parameters and outputs CDK adds for references across it after the referenced
    resource's logical id, not after its full construct path.

    CDK's names come from the full path, which a Stage lengthens (`PipelineStack/Dev/DevStack/...`), so the same
    stack deployed by `cdk deploy` and by a CDK Pipelines stage would rename every nested stack's parameters on each
    switch between the two. A resource's logical id is the same both ways, so these names are too:
    `referenceto<logical id><attribute>` for a parameter, `<nested stack id><logical id><attribute>` for an output.
    """

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        # How the unique id of every resource in this stack starts: its path's components, letters and digits.
        self._unique_id_prefix = "".join(_alphanumeric(ancestor.node.id) for ancestor in self.node.scopes[1:])

    def _allocate_logical_id(self, cfn_element: CfnElement) -> str:
        logical_id = self._portable_logical_id(cfn_element) or super()._allocate_logical_id(cfn_element)
        # CDK asks each time it resolves a logical id, hundreds of times per stack, each a round trip from Node to
        # Python: fixed on the element now, it is never asked again.
        cfn_element.override_logical_id(logical_id)
        return logical_id

    def _portable_logical_id(self, cfn_element: CfnElement) -> str | None:
        """The portable name of a parameter or output CDK added for a reference (both are children of the stack
        itself); None for any other element."""
        if isinstance(cfn_element, CfnParameter):
            element_id = cfn_element.node.id
            if not element_id.startswith(_PARAMETER_PREFIX):
                return None
            parent = self.nested_stack_parent
            assert parent is not None, "a nested stack has a parent"
            reference = element_id.removeprefix(_PARAMETER_PREFIX)
            portable = _portable_reference(parent, reference)
            # Not a resource or parameter of the parent (a value passed through from higher up): CDK's own name.
            return None if portable is None else _logical_id(_PORTABLE_PARAMETER_PREFIX + portable)
        if isinstance(cfn_element, CfnOutput):
            element_id = cfn_element.node.id
            # A reference's output is named after a resource in this stack, whose unique id starts with this stack's
            # path: other outputs are left as they are without looking at the stack's resources.
            if not element_id.startswith(self._unique_id_prefix):
                return None
            portable = _portable_reference(self, element_id)
            if portable is not None:
                # Prefixed with this stack's id: sibling nested stacks hold resources under the same logical ids,
                # and whoever reads a deployed stack with its nested stacks sees all their outputs together.
                return _logical_id(_alphanumeric(self.node.id) + portable)
        return None


def _alphanumeric(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _logical_id(name: str) -> str:
    """`name` as a logical id: letters and digits only (a sibling stack's output is `<id>Outputs.<output>`), and at
    most 255 characters, a longer one cut and ended with a hash of the whole."""
    name = _alphanumeric(name)
    if len(name) <= _MAX_LOGICAL_ID:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8].upper()
    return name[: _MAX_LOGICAL_ID - len(digest)] + digest


def parameter_name(resource: CfnResource, attribute: str) -> str:
    """The name of the parameter that carries `resource`'s `attribute` (`Ref`, `Arn`) into a PortableNestedStack of
    the resource's stack."""
    return _logical_id(f"{_PORTABLE_PARAMETER_PREFIX}{Stack.of(resource).resolve(resource.logical_id)}{attribute}")


def _portable_reference(stack: Stack, reference: str) -> str | None:
    """`<unique id><attribute>` of a resource in `stack` -> `<logical id><attribute>`."""
    by_unique_id = _logical_ids_by_unique_id(stack)
    # The longest unique id that starts the reference: a unique id ends in its hash, so a shorter one cannot match.
    unique_id = max((u for u in by_unique_id if reference.startswith(u)), key=len, default=None)
    return None if unique_id is None else by_unique_id[unique_id] + reference.removeprefix(unique_id)


# Per stack, by its reference in the jsii kernel (unique in the process; the Python object CDK hands back for a
# stack is not always the same one): filled the first time the stack is read.
_LOGICAL_IDS: dict[str, dict[str, str]] = {}


def _logical_ids_by_unique_id(stack: Stack) -> dict[str, str]:
    """Unique id (as CDK names references) -> logical id, for the CloudFormation resources of `stack` itself (not of
    its nested stacks); read once per stack, as CDK asks for every parameter of every nested stack."""
    key = stack.__jsii_ref__.ref
    known = _LOGICAL_IDS.get(key)
    if known is None:
        found: dict[str, str] = {}
        nodes: list[IConstruct] = stack.node.find_all()  # one call to Node for the whole tree
        # A nested stack's resources are its own (their references are its own parameters and outputs).
        nested = tuple(f"{n.node.path}/" for n in nodes if isinstance(n, Stack) and n is not stack)
        # What a reference points at: a resource, or a parameter of a stack whose parameters are its own (never one
        # of a portable nested stack, whose names this table serves).
        kinds: tuple[type[CfnElement], ...] = (
            (CfnResource,) if isinstance(stack, PortableNestedStack) else (CfnResource, CfnParameter)
        )
        for node in nodes:
            if isinstance(node, kinds) and not node.node.path.startswith(nested):
                element = cast(CfnElement, node)
                found[Names.node_unique_id(element.node)] = stack.resolve(element.logical_id)
        _LOGICAL_IDS[key] = known = found
    return known
