"""EKS on Graviton only: ArmEksCluster (L1 resources, no kubectl Lambda) and the workload manifests it applies."""

from graviton.eks.construct import ArmEksCluster
from graviton.eks.manifests import NAMESPACE, workload_manifests

__all__ = ["NAMESPACE", "ArmEksCluster", "workload_manifests"]
