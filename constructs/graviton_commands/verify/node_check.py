"""EKS nodes: every pending or running EC2 instance of the environment's EKS clusters must be arm64.

The clusters are the stack's AWS::EKS::Cluster resources and its `EksClusterName` output; their nodes are the
instances EKS tags `eks:cluster-name=<cluster>`. A pod schedules on whatever node there is, so one x86 node is
enough to run x86 code; a node group of the stack with no instance to look at cannot be checked.
"""

from __future__ import annotations

from graviton_app.naming import OUTPUT_EKS_CLUSTER
from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.model import CANNOT_CHECK, OK, WRONG, Row
from graviton_commands.verify.stack import Aws

CHECK_NODE = "EKS node"
EXPECTED_NODE = "arm64"


def node_rows(aws: Aws) -> list[Row]:
    """Every running instance of the environment's EKS clusters (tag `eks:cluster-name`): `Architecture` arm64."""
    clusters = list(
        dict.fromkeys([*aws.physical_ids("AWS::EKS::Cluster"), *aws.outputs_ending(OUTPUT_EKS_CLUSTER).values()])
    )
    # A node group's physical id is `<cluster>/<nodegroup>`.
    nodegroups = [ng.partition("/")[2] or ng for ng in aws.physical_ids("AWS::EKS::Nodegroup")]
    if not clusters:
        return []
    client = aws.client("ec2")
    rows = []
    seen_nodegroups: set[str] = set()
    for cluster in clusters:
        filters = [
            {"Name": "tag:eks:cluster-name", "Values": [cluster]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
        try:
            instances = [
                instance
                for page in client.get_paginator("describe_instances").paginate(Filters=filters)
                for reservation in page["Reservations"]
                for instance in reservation["Instances"]
            ]
        except client_errors() as err:
            rows.append(Row(CHECK_NODE, cluster, EXPECTED_NODE, "-", CANNOT_CHECK, aws_error(err)))
            continue
        aws.progress(f"EKS {cluster}: {len(instances)} node(s)")
        for instance in instances:
            tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
            nodegroup = tags.get("eks:nodegroup-name", "?")
            seen_nodegroups.add(nodegroup)
            resource = f"{instance['InstanceId']} ({nodegroup}, {instance.get('InstanceType', '?')})"
            found = instance.get("Architecture", "?")
            ok = found == EXPECTED_NODE
            why = "" if ok else f"a {found} node in cluster {cluster}; node groups need Graviton types and an ARM AMI"
            rows.append(Row(CHECK_NODE, resource, EXPECTED_NODE, found, OK if ok else WRONG, why))
    for nodegroup in nodegroups:
        if nodegroup not in seen_nodegroups:
            why = "the stack's node group has no running instance to look at"
            rows.append(Row(CHECK_NODE, nodegroup, EXPECTED_NODE, "-", CANNOT_CHECK, why))
    return rows
