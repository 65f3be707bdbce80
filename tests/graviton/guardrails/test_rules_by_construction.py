"""The rules for compute models beyond Lambda, ECS and CodeBuild: a passing and a failing case each, and SAM."""

from __future__ import annotations

import pytest

from graviton.guardrails.assembly import StackContent, resources_of
from graviton.guardrails.check import advisories, evaluate, violations
from graviton.guardrails.rules import Compliance, Resource
from graviton.guardrails.rules.pack import PACK

GRAVITON_ONLY = {"CpuManufacturers": ["amazon-web-services"]}
ANY_CPU = {"VCpuCount": {"Min": 2}, "MemoryMiB": {"Min": 4096}}


def beanstalk(namespace: str, option: str, value: object) -> dict:
    return {"Namespace": namespace, "OptionName": option, "Value": value}


def verdict(rule: str, type_: str, properties: dict) -> Compliance:
    return PACK[rule].check(Resource(logical_id="R", type=type_, properties=properties)).compliance


CASES = [
    # (rule, type, compliant properties, x86 properties)
    (
        "GG-EC2",
        "AWS::EC2::SpotFleet",
        {"SpotFleetRequestConfigData": {"LaunchSpecifications": [{"InstanceType": "c7g.large"}]}},
        {"SpotFleetRequestConfigData": {"LaunchSpecifications": [{"InstanceType": "c5.large"}]}},
    ),
    (
        "GG-EC2",
        "AWS::EC2::EC2Fleet",
        {"LaunchTemplateConfigs": [{"Overrides": [{"InstanceRequirements": GRAVITON_ONLY}]}]},
        {"LaunchTemplateConfigs": [{"Overrides": [{"InstanceRequirements": ANY_CPU}]}]},
    ),
    (
        "GG-EC2",
        "AWS::ECS::CapacityProvider",
        {"ManagedInstancesProvider": {"InstanceLaunchTemplate": {"InstanceRequirements": GRAVITON_ONLY}}},
        {"ManagedInstancesProvider": {"InstanceLaunchTemplate": {"InstanceRequirements": ANY_CPU}}},
    ),
    (
        "GG-EC2",
        "AWS::Lambda::CapacityProvider",
        {"InstanceRequirements": {"Architectures": ["arm64"]}},
        {},  # Lambda managed instances run x86_64 unless the requirements say arm64
    ),
    (
        "GG-EC2",
        "AWS::EMR::Cluster",
        {"Instances": {"MasterInstanceGroup": {"InstanceType": "m7g.xlarge"}}},
        {"Instances": {"TaskInstanceGroups": [{"InstanceType": "m5.xlarge"}]}},
    ),
    (
        "GG-EC2",
        "AWS::EC2::LaunchTemplate",
        {"LaunchTemplateData": {"InstanceRequirements": {"AllowedInstanceTypes": ["m7g.*", "c7g.*"]}}},
        {"LaunchTemplateData": {"InstanceRequirements": {"AllowedInstanceTypes": ["m7g.*", "m7i.*"]}}},
    ),
    (
        "GG-BATCH",
        "AWS::Batch::JobDefinition",
        {"PlatformCapabilities": ["FARGATE"], "ContainerProperties": {"RuntimePlatform": {"CpuArchitecture": "ARM64"}}},
        {"PlatformCapabilities": ["FARGATE"], "ContainerProperties": {"Image": "x"}},
    ),
    (
        "GG-BATCH",
        "AWS::Batch::JobDefinition",
        {
            "PlatformCapabilities": ["FARGATE"],
            "EcsProperties": {"TaskProperties": [{"RuntimePlatform": {"CpuArchitecture": "ARM64"}}]},
        },
        {
            "PlatformCapabilities": ["FARGATE"],
            "EcsProperties": {"TaskProperties": [{"RuntimePlatform": {"CpuArchitecture": "ARM64"}}, {}]},
        },
    ),
    ("GG-EMR-SERVERLESS", "AWS::EMRServerless::Application", {"Architecture": "ARM64"}, {"Type": "SPARK"}),
    (
        "GG-BEANSTALK",
        "AWS::ElasticBeanstalk::Environment",
        {"OptionSettings": [beanstalk("aws:ec2:instances", "InstanceTypes", "t4g.small, m7g.large")]},
        {"OptionSettings": [beanstalk("aws:ec2:instances", "InstanceTypes", "t4g.small,t3.small")]},
    ),
    (
        "GG-BEANSTALK",
        "AWS::ElasticBeanstalk::ConfigurationTemplate",
        {"OptionSettings": [beanstalk("aws:autoscaling:launchconfiguration", "InstanceType", "c7g.large")]},
        {"OptionSettings": [beanstalk("aws:autoscaling:launchconfiguration", "InstanceType", "c5.large")]},
    ),
    (
        "GG-BEANSTALK",
        "AWS::ElasticBeanstalk::Environment",
        {"OptionSettings": [beanstalk("aws:ec2:instances", "SupportedArchitectures", "arm64")]},
        {"ApplicationName": "app"},  # no instance types: Beanstalk launches t3.micro and t3.small
    ),
    ("GG-LAMBDA", "AWS::Serverless::Function", {"Architectures": ["arm64"]}, {"Runtime": "python3.13"}),
    ("GG-DATA-CLASS", "AWS::RDS::DBInstance", {"DBInstanceClass": "db.r7g.large"}, {"DBInstanceClass": "db.r6i.large"}),
    (
        "GG-DATA-CLASS",
        "AWS::OpenSearchService::Domain",
        {"ClusterConfig": {"InstanceType": "r7g.large.search"}},
        {"ClusterConfig": {"InstanceType": "r6i.large.search"}},
    ),
    (
        "GG-DATA-CLASS",
        "AWS::ElastiCache::ReplicationGroup",
        {"CacheNodeType": "cache.m7g.large"},
        {"CacheNodeType": "cache.m5.large"},
    ),
]


@pytest.mark.parametrize(("rule", "type_", "arm", "x86"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_compute_model_passes_on_graviton_and_fails_on_x86(rule, type_, arm, x86):
    assert verdict(rule, type_, arm) is Compliance.COMPLIANT
    assert verdict(rule, type_, x86) is Compliance.NON_COMPLIANT


@pytest.mark.parametrize(
    ("properties", "found"),
    [
        ({"TemplateName": "base"}, "instance types from a configuration template the guard cannot read"),
        ({"OptionSettings": {"Ref": "Settings"}}, "unresolved at synth"),
        ({"OptionSettings": [beanstalk("aws:ec2:instances", "InstanceTypes", {"Ref": "Types"})]}, "unresolved"),
        ({"OptionSettings": [beanstalk("aws:ec2:instances", "SupportedArchitectures", "x86_64,arm64")]}, "x86_64"),
        ({"OptionSettings": [beanstalk("aws:ec2:instances", "InstanceTypes", " , ")]}, "InstanceTypes"),
    ],
)
def test_a_beanstalk_environment_the_guard_cannot_prove_graviton_fails_with_the_setting_to_add(properties, found):
    resource = Resource(logical_id="R", type="AWS::ElasticBeanstalk::Environment", properties=properties)
    verdict_ = PACK["GG-BEANSTALK"].check(resource)
    assert verdict_.compliance is Compliance.NON_COMPLIANT
    assert found in verdict_.found
    assert "aws:ec2:instances InstanceTypes" in (verdict_.fix or PACK["GG-BEANSTALK"].fix)


def test_a_batch_job_on_ec2_is_left_to_its_compute_environment():
    assert verdict("GG-BATCH", "AWS::Batch::JobDefinition", {"ContainerProperties": {}}) is Compliance.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("type_", "properties"),
    [
        ("AWS::EKS::FargateProfile", {"ClusterName": "c", "Selectors": [{"Namespace": "default"}]}),
        (
            "AWS::CloudFront::Distribution",
            {"DistributionConfig": {"DefaultCacheBehavior": {"LambdaFunctionAssociations": [{"EventType": "a"}]}}},
        ),
    ],
)
def test_x86_only_services_are_refused_with_what_to_use(type_, properties):
    resource = Resource(logical_id="R", type=type_, properties=properties)
    found = PACK["GG-X86-ONLY"].check(resource)
    assert found.compliance is Compliance.NON_COMPLIANT
    assert found.fix and "x86" not in found.fix


def test_a_distribution_without_edge_functions_is_fine():
    plain = Resource(logical_id="R", type="AWS::CloudFront::Distribution", properties={"DistributionConfig": {}})
    assert PACK["GG-X86-ONLY"].check(plain).compliance is Compliance.NOT_APPLICABLE


def sam(globals_: dict, function: dict) -> list:
    template = {
        "Globals": {"Function": globals_},
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": function}},
    }
    return evaluate([StackContent("sam", None, resources_of(template))])  # type: ignore[arg-type]


def test_sam_globals_decide_a_function_that_sets_nothing():
    assert violations(sam({"Architectures": ["arm64"]}, {"Runtime": "python3.13"})) == []
    (found,) = violations(sam({"Runtime": "python3.13"}, {}))
    assert (found.rule, found.found) == ("GG-LAMBDA", "x86_64 (Architectures unset)")
    assert "Architectures: [arm64]" in found.fix


def test_sam_lists_append_so_an_x86_global_cannot_be_hidden_by_an_arm64_function():
    (found,) = violations(sam({"Architectures": ["x86_64"]}, {"Architectures": ["arm64"]}))
    assert found.found == "x86_64,arm64"


def test_an_x86_data_class_is_advisory_and_never_a_violation():
    template = {"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.m5.large"}}}}
    decisions = evaluate([StackContent("data", None, resources_of(template))])  # type: ignore[arg-type]
    assert violations(decisions) == []
    (advice,) = advisories(decisions)
    assert "db.r7g" in advice.fix
