"""Which CloudFormation resource types the guard decides, and how: checked by a rule, advisory, or out of scope.

The inventory is AWS's own: every type in the registry schemas that the pinned cfn-lint ships (SAM's types
included) whose schema names an instance type or class, an architecture, instance requirements or a build
environment or compute type. A contract test walks those schemas, so a cfn-lint upgrade that brings a new
compute type fails the suite until it is decided here.

Checked and advisory entries come from the rule pack (a rule's `applies_to`), so they cannot drift from what
runs; only the out-of-scope decisions are written by hand, each with its reason.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from graviton.guardrails.rules import ASSET
from graviton.guardrails.rules.pack import RULES


class Status(Enum):
    CHECKED = "checked"  # a rule fails synth on x86
    ADVISORY = "advisory"  # reported with its arm64 alternative, never fatal
    OUT_OF_SCOPE = "out of scope"  # not the team's compute, or no CPU choice to make


@dataclass(frozen=True)
class TypeDecision:
    type: str
    status: Status
    rule: str | None
    reason: str


# A property whose name says "this picks a machine or a CPU", anywhere in a type's schema.
COMPUTE_PROPERTY = re.compile(
    r"(InstanceTypes?|InstanceClass|NodeType|Architectures?|CpuArchitecture|InstanceRequirements"
    r"|EnvironmentType|ComputeType|CpuManufacturers)$"
)

_SAGEMAKER = "SageMaker runs ML instances and AWS-built images, not this platform's containers"
_SAGEMAKER_TYPES = [
    "Algorithm",
    "App",
    "Cluster",
    "ComputeQuota",
    "DataQualityJobDefinition",
    "Domain",
    "EndpointConfig",
    "InferenceComponent",
    "InferenceExperiment",
    "ModelBiasJobDefinition",
    "ModelExplainabilityJobDefinition",
    "ModelPackage",
    "ModelQualityJobDefinition",
    "MonitoringSchedule",
    "NotebookInstance",
    "ProcessingJob",
    "Space",
    "UserProfile",
]
_REDSHIFT = "Redshift node types have no Graviton choice; a warehouse, not a container"
_SNAPSHOT = "a snapshot or backup records the node type of its source; the source resource is what runs"
_ROBOMAKER = "RoboMaker (end of support) builds robot applications, not this platform's containers"
_TIMESTREAM = "Timestream for InfluxDB instance types have no Graviton choice; a managed database"
_RESOLVER = "Route 53 Resolver picks the appliance's instance type; DNS, not the team's code"

OUT_OF_SCOPE: dict[str, str] = {
    # A property that only matches the name pattern.
    "AWS::EC2::DHCPOptions": "NetbiosNodeType is a DHCP option, not compute",
    "AWS::SecurityHub::Insight": "ResourceAwsEc2InstanceType is a findings filter, not compute",
    "AWS::InspectorV2::Filter": "Architecture is a findings filter, not compute",
    "AWS::IoTAnalytics::Dataset": "ComputeType sizes a managed analytics container AWS runs",
    "AWS::WorkSpaces::Directory": "ChangeComputeType is a user permission on WorkSpaces desktops",
    "AWS::Batch::ServiceEnvironment": "ServiceEnvironmentType selects SageMaker training, not a CPU",
    "AWS::EKS::Cluster": "control-plane and etcd instance types are EKS's own (Outposts); nodes are checked",
    # Metadata about architectures, not a choice of one.
    "AWS::ECR::PublicRepository": "Architectures is catalogue metadata; the images are checked by the build",
    "AWS::Lambda::MicrovmImage": "Architecture accepts only ARM_64",
    "AWS::Serverless::MicrovmImage": "Architecture accepts only ARM_64",
    "AWS::ElasticBeanstalk::ApplicationVersion": "a Beanstalk source bundle; GG-BEANSTALK checks what runs it",
    "AWS::Amplify::App": "BuildComputeType sizes Amplify's hosted build; the site is static or AWS-run",
    # Managed services that choose an instance for AWS's own software.
    "AWS::DAX::Cluster": "DAX node types have no Graviton choice; a managed cache",
    "AWS::DMS::ReplicationInstance": "DMS runs AWS's replication software; no container of the team's",
    "AWS::DRS::ReplicationConfigurationTemplate": "Elastic Disaster Recovery's replication servers are AWS's",
    "AWS::Route53Resolver::OutpostResolver": _RESOLVER,
    "AWS::Route53Resolver::ResolverEndpoint": _RESOLVER,
    "AWS::Pipes::Pipe": "InstanceType overrides a Batch target job; it runs in a compute environment GG-EC2 checks",
    "AWS::ManagedBlockchain::Node": "peer nodes run AWS's blockchain software",
    "AWS::M2::Environment": "Mainframe Modernization runs AWS's runtime engines",
    "AWS::EVS::Environment": "Amazon EVS runs VMware on bare-metal x86 hosts; not a container platform",
    "AWS::Redshift::Cluster": _REDSHIFT,
    "AWS::Redshift::ScheduledAction": _REDSHIFT,
    "AWS::Timestream::InfluxDBInstance": _TIMESTREAM,
    "AWS::Timestream::InfluxDBCluster": _TIMESTREAM,
    "AWS::RDS::Deployment": "a blue/green deployment's target class follows the source; the DB is advisory",
    # Records of something else's instance type.
    "AWS::ElastiCache::Snapshot": _SNAPSHOT,
    "AWS::MemoryDB::Snapshot": _SNAPSHOT,
    "AWS::Redshift::Snapshot": _SNAPSHOT,
    "AWS::Timestream::InfluxDBBackup": _SNAPSHOT,
    # Desktops, IDEs, render farms and robots: people's machines, not the team's services.
    "AWS::AppStream::Fleet": "AppStream streams desktop applications to people",
    "AWS::AppStream::ImageBuilder": "AppStream streams desktop applications to people",
    "AWS::AppStream::AppBlockBuilder": "AppStream streams desktop applications to people",
    "AWS::WorkSpacesWeb::Portal": "WorkSpaces Web browsers are AWS-run sessions for people",
    "AWS::WorkspacesInstances::WorkspaceInstance": "a WorkSpaces desktop for a person",
    "AWS::Cloud9::EnvironmentEC2": "a developer's IDE instance (Cloud9 is closed to new customers)",
    "AWS::Deadline::Fleet": "Deadline Cloud render workers run the render software's builds",
    "AWS::OpsWorks::Instance": "OpsWorks reached end of life; instances cannot be launched",
    "AWS::RoboMaker::Robot": _ROBOMAKER,
    "AWS::RoboMaker::RobotApplication": _ROBOMAKER,
    "AWS::RoboMaker::SimulationApplication": _ROBOMAKER,
    # Machine learning.
    **{f"AWS::SageMaker::{name}": _SAGEMAKER for name in _SAGEMAKER_TYPES},
}


def _decisions() -> dict[str, TypeDecision]:
    decided: dict[str, TypeDecision] = {}
    for rule in RULES:
        status = Status.ADVISORY if rule.advisory else Status.CHECKED
        for type_ in rule.applies_to:
            if type_ != ASSET and type_ not in decided:
                decided[type_] = TypeDecision(type_, status, rule.id, rule.title)
    for type_, reason in OUT_OF_SCOPE.items():
        if type_ in decided:
            raise ValueError(f"{type_} is both checked by {decided[type_].rule} and out of scope")
        decided[type_] = TypeDecision(type_, Status.OUT_OF_SCOPE, None, reason)
    return dict(sorted(decided.items()))


DECIDED: dict[str, TypeDecision] = _decisions()


def cfn_lint_schemas() -> Path:
    """The registry schemas of the installed cfn-lint, found without importing it (the guard never needs it)."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("cfn-lint is not installed; it ships the registry schemas the inventory reads")
    return Path(spec.origin).parent / "data" / "schemas"


def schema_types(schema_dir: Path) -> dict[str, Path]:
    """Every resource type any region's provider list names, with its schema file."""
    types: dict[str, Path] = {}
    for provider in sorted((schema_dir / "providers").glob("*.json")):
        for type_, schema_hash in json.loads(provider.read_text()).items():
            types.setdefault(type_, schema_dir / "resources" / f"{schema_hash}.json")
    return types


def compute_properties(schema: Any) -> Iterator[str]:
    """Names of the properties in a schema, at any depth (definitions included), that pick a machine or CPU."""
    if isinstance(schema, dict):
        for key in ("properties", "patternProperties"):
            properties = schema.get(key)
            if isinstance(properties, dict):
                yield from (name for name in properties if COMPUTE_PROPERTY.search(name))
        for value in schema.values():
            yield from compute_properties(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from compute_properties(value)


def compute_types_in_schemas(schema_dir: Path | None = None) -> dict[str, set[str]]:
    """Type -> its compute-naming properties, for every type in the schemas that has any."""
    found = {}
    for type_, schema_file in schema_types(schema_dir or cfn_lint_schemas()).items():
        schema = json.loads(schema_file.read_text())
        names = set(compute_properties({key: schema.get(key) for key in ("properties", "definitions")}))
        if names:
            found[type_] = names
    return found
