"""GG-EC2: everything that launches EC2 capacity (instances, templates, fleets, Auto Scaling, Batch, ECS and Lambda
managed instances, EMR, ...) launches Graviton, by instance type or by attribute-based selection."""

from __future__ import annotations

from dataclasses import dataclass

from graviton.guardrails.instance_types import is_graviton, requirements_problem
from graviton.guardrails.rules import (
    NOT_APPLICABLE,
    Resource,
    Rule,
    Verdict,
    compliant,
    get,
    is_token,
    unresolved,
    values_at,
    violation,
)


@dataclass(frozen=True)
class Capacity:
    """Where a type names what it launches: instance types (or families), and InstanceRequirements objects."""

    types: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    # Lambda managed instances run x86_64 unless their requirements say arm64: absent requirements are x86.
    requirements_required: bool = False


CAPACITY: dict[str, Capacity] = {
    "AWS::EC2::Instance": Capacity(types=("InstanceType",)),
    "AWS::EC2::Host": Capacity(types=("InstanceType", "InstanceFamily")),
    "AWS::EC2::CapacityReservation": Capacity(types=("InstanceType",)),
    "AWS::EC2::CapacityReservationFleet": Capacity(types=("InstanceTypeSpecifications[].InstanceType",)),
    "AWS::EC2::LaunchTemplate": Capacity(
        types=("LaunchTemplateData.InstanceType",), requirements=("LaunchTemplateData.InstanceRequirements",)
    ),
    "AWS::EC2::SpotFleet": Capacity(
        types=(
            "SpotFleetRequestConfigData.LaunchSpecifications[].InstanceType",
            "SpotFleetRequestConfigData.LaunchTemplateConfigs[].Overrides[].InstanceType",
        ),
        requirements=(
            "SpotFleetRequestConfigData.LaunchSpecifications[].InstanceRequirements",
            "SpotFleetRequestConfigData.LaunchTemplateConfigs[].Overrides[].InstanceRequirements",
        ),
    ),
    "AWS::EC2::EC2Fleet": Capacity(
        types=("LaunchTemplateConfigs[].Overrides[].InstanceType",),
        requirements=("LaunchTemplateConfigs[].Overrides[].InstanceRequirements",),
    ),
    "AWS::AutoScaling::LaunchConfiguration": Capacity(types=("InstanceType",)),
    "AWS::AutoScaling::AutoScalingGroup": Capacity(
        types=("MixedInstancesPolicy.LaunchTemplate.Overrides[].InstanceType",),
        requirements=("MixedInstancesPolicy.LaunchTemplate.Overrides[].InstanceRequirements",),
    ),
    "AWS::Batch::ComputeEnvironment": Capacity(
        types=("ComputeResources.InstanceTypes[]", "ComputeResources.LaunchTemplate.Overrides[].TargetInstanceTypes[]"),
        requirements=("ComputeResources.ManagedInstancesProvider.InstanceLaunchTemplate.InstanceRequirements",),
    ),
    "AWS::ECS::CapacityProvider": Capacity(
        requirements=("ManagedInstancesProvider.InstanceLaunchTemplate.InstanceRequirements",),
    ),
    "AWS::Lambda::CapacityProvider": Capacity(requirements=("InstanceRequirements",), requirements_required=True),
    "AWS::Serverless::CapacityProvider": Capacity(requirements=("InstanceRequirements",), requirements_required=True),
    "AWS::BedrockAgentCore::CapacityProvider": Capacity(
        requirements=(
            "ComputeConfiguration.Ec2Configuration.LaunchTemplateSource.LaunchParameters.InstanceRequirements",
        ),
    ),
    "AWS::ImageBuilder::InfrastructureConfiguration": Capacity(types=("InstanceTypes[]",)),
    "AWS::PCS::ComputeNodeGroup": Capacity(types=("InstanceConfigs[].InstanceType",)),
    "AWS::EMR::Cluster": Capacity(
        types=(
            "Instances.MasterInstanceGroup.InstanceType",
            "Instances.CoreInstanceGroup.InstanceType",
            "Instances.TaskInstanceGroups[].InstanceType",
            "Instances.MasterInstanceFleet.InstanceTypeConfigs[].InstanceType",
            "Instances.CoreInstanceFleet.InstanceTypeConfigs[].InstanceType",
            "Instances.TaskInstanceFleets[].InstanceTypeConfigs[].InstanceType",
        )
    ),
    "AWS::EMR::InstanceGroupConfig": Capacity(types=("InstanceType",)),
    "AWS::EMR::InstanceFleetConfig": Capacity(types=("InstanceTypeConfigs[].InstanceType",)),
    "AWS::GameLift::Fleet": Capacity(types=("EC2InstanceType",)),
    "AWS::GameLift::ContainerFleet": Capacity(types=("InstanceType",)),
    "AWS::GameLift::GameServerGroup": Capacity(types=("InstanceDefinitions[].InstanceType",)),
}


def launched(resource: Resource) -> tuple[list, list]:
    """The instance types and the InstanceRequirements a capacity resource names."""
    capacity = CAPACITY[resource.type]
    types = [value for path in capacity.types for value in values_at(resource.properties, path)]
    requirements = [value for path in capacity.requirements for value in values_at(resource.properties, path)]
    batch_default = resource.type == "AWS::Batch::ComputeEnvironment" and not types and not requirements
    if batch_default and get(resource.properties, "ComputeResources", "Type") in ("EC2", "SPOT"):
        types = ["optimal (Batch's default: x86 families)"]
    return types, requirements


def check(resource: Resource) -> Verdict:
    capacity = CAPACITY.get(resource.type)
    if capacity is None:
        return NOT_APPLICABLE
    types, requirements = launched(resource)
    if not types and not requirements:
        if capacity.requirements_required:
            return violation("x86_64 (InstanceRequirements.Architectures unset)")
        return NOT_APPLICABLE  # nothing launched here names a type (Fargate Batch, an ASG-backed capacity provider)
    for value in [*types, *requirements]:
        if is_token(value):
            return violation(unresolved(value))
    foreign = [t for t in types if not is_graviton(str(t))]
    if foreign:
        return violation(f"{foreign[0]} is not a known Graviton instance type")
    problems = [p for p in map(requirements_problem, requirements) if p]
    if problems:
        return violation(problems[0])
    return compliant(",".join([*map(str, types), *(["Graviton by InstanceRequirements"] if requirements else [])]))


RULE = Rule(
    id="GG-EC2",
    title="EC2 capacity is Graviton",
    explanation="Everything that launches EC2 capacity must name Graviton instance types (unknown families are "
    "refused, not guessed), or select by attributes restricted to Graviton: InstanceRequirements with "
    "CpuManufacturers [amazon-web-services], Architectures [arm64] (Lambda managed instances), or Graviton "
    "AllowedInstanceTypes.",
    fix="use a Graviton instance type (t4g, m7g, c7g, r7g, ...), or CpuManufacturers=[amazon-web-services]",
    applies_to=tuple(CAPACITY),
    check=check,
    cfn_fix="set InstanceType to a Graviton type (t4g, m7g, c7g, r7g, ...), or "
    "InstanceRequirements.CpuManufacturers: [amazon-web-services]",
)
