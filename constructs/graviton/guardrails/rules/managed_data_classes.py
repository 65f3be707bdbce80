"""GG-DATA-CLASS (advisory): managed data services run on a Graviton instance class where one exists.

They are not containers this platform builds, so an x86 class is reported with its Graviton alternative in
arm64-report.json and never fails synth.
"""

from __future__ import annotations

import re

from graviton.guardrails.instance_types import is_graviton
from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, compliant, values_at, violation

# Where each type names its instance class.
CLASS_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::RDS::DBInstance": ("DBInstanceClass",),
    "AWS::RDS::DBCluster": ("DBClusterInstanceClass",),
    "AWS::DocDB::DBInstance": ("DBInstanceClass",),
    "AWS::Neptune::DBInstance": ("DBInstanceClass",),
    "AWS::ElastiCache::CacheCluster": ("CacheNodeType",),
    "AWS::ElastiCache::ReplicationGroup": ("CacheNodeType",),
    "AWS::ElastiCache::GlobalReplicationGroup": ("CacheNodeType",),
    "AWS::MemoryDB::Cluster": ("NodeType",),
    "AWS::MemoryDB::MultiRegionCluster": ("NodeType",),
    "AWS::OpenSearchService::Domain": ("ClusterConfig.InstanceType", "ClusterConfig.DedicatedMasterType"),
    "AWS::Elasticsearch::Domain": (
        "ElasticsearchClusterConfig.InstanceType",
        "ElasticsearchClusterConfig.DedicatedMasterType",
    ),
    "AWS::MSK::Cluster": ("BrokerNodeGroupInfo.InstanceType",),
    "AWS::AmazonMQ::Broker": ("HostInstanceType",),
}
# `db.r7g.large`, `cache.m7g.large`, `kafka.m7g.large`, `mq.m7g.large`, `r7g.large.search`: the EC2 family inside.
_SERVICE_PREFIX = re.compile(r"^(db|cache|kafka|mq)\.")
_SERVICE_SUFFIX = re.compile(r"\.(search|elasticsearch)$")
# Classes that are not an instance family: Aurora Serverless v2's capacity.
NOT_A_FAMILY = {"db.serverless"}


def ec2_type(instance_class: str) -> str:
    return _SERVICE_SUFFIX.sub("", _SERVICE_PREFIX.sub("", instance_class.lower()))


def check(resource: Resource) -> Verdict:
    paths = CLASS_PATHS.get(resource.type)
    if paths is None:
        return NOT_APPLICABLE
    classes = [value for path in paths for value in values_at(resource.properties, path)]
    named = [c for c in classes if isinstance(c, str) and c.lower() not in NOT_A_FAMILY]  # a token is a dict
    if not named:
        return NOT_APPLICABLE  # a token, a serverless class, or the service's default
    foreign = [c for c in named if not is_graviton(ec2_type(c))]
    if foreign:
        return violation(f"{foreign[0]} is not a Graviton class")
    return compliant(",".join(named))


RULE = Rule(
    id="GG-DATA-CLASS",
    title="Managed data services use Graviton classes (advisory)",
    explanation="RDS, Aurora, DocumentDB, Neptune, ElastiCache, MemoryDB, OpenSearch, MSK and Amazon MQ offer "
    "Graviton classes; an x86 class is reported with the alternative and never fails synth.",
    fix="choose the Graviton class of the same size (db.r7g, cache.m7g, r7g.large.search, kafka.m7g, mq.m7g, ...)",
    applies_to=tuple(CLASS_PATHS),
    check=check,
    advisory=True,
    cfn_fix="set the instance class property to the Graviton class of the same size (db.r7g, cache.m7g, ...)",
)
