"""EKS on Graviton only: ArmEksCluster (L1 resources, no kubectl Lambda) and the workload manifests it applies."""
