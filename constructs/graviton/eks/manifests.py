"""The Kubernetes objects each EKS workload runs as: one Deployment and one Service, generated at synth."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from graviton.workloads.container_settings import ContainerSettings

# Workloads get their own objects in `default`: access policies cannot create namespaces, so the apply role's
# AmazonEKSEditPolicy is scoped to this one, which always exists.
NAMESPACE = "default"
REPLICAS = 2
SERVICE_PORT = 80
MANAGED_BY = "graviton-guarantee"
# A Deployment, a Service and their container share the name: a DNS-1035 label.
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def is_workload_name(name: str) -> bool:
    return bool(_NAME.match(name))


def workload_manifests(
    images: Mapping[str, str],
    *,
    namespace: str = NAMESPACE,
    settings: Mapping[str, ContainerSettings] | None = None,
) -> dict[str, Any]:
    """A `v1` List holding, per workload name (sorted), its arm64-only Deployment and its ClusterIP Service.

    :param images: each workload name -> the image it runs (`<repository_uri>:<tag>` or `@sha256:...`; CDK tokens
        are fine).
    :param namespace: where the objects go (default: ``default``).
    :param settings: workload name -> its port, health path, user and root file system; ``health_check`` is ECS's
        only, pods are probed over HTTP on the health path (default: ``ContainerSettings()`` for each: 8080,
        ``/health``, ``10001:10001``, read-only root).
    """
    settings = settings or {}
    for name in [*images, *settings]:
        if not is_workload_name(name):
            raise ValueError(f"workload name '{name}' is not a DNS label (lower-case letters, digits, '-'; 63 at most)")
    unknown = sorted(set(settings) - set(images))
    if unknown:
        raise ValueError(
            f"settings name '{unknown[0]}', which is not a workload; workloads: {', '.join(sorted(images))}"
        )
    items: list[dict[str, Any]] = []
    for name in sorted(images):
        container = settings.get(name, ContainerSettings())
        items += [_deployment(name, images[name], namespace, container), _service(name, namespace)]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": MANAGED_BY}


def _deployment(name: str, image: str, namespace: str, settings: ContainerSettings) -> dict[str, Any]:
    probe = {"httpGet": {"path": settings.health_path, "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(name)},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    # The images are linux/arm64 only: never schedule them anywhere else.
                    "nodeSelector": {"kubernetes.io/arch": "arm64"},
                    # The workloads do not call the Kubernetes API.
                    "automountServiceAccountToken": False,
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            # Tags are immutable and content-addressed: a cached image is the right one.
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": settings.port, "protocol": "TCP"}],
                            # /tmp is writable, the one writable place when the root file system is read-only, as on
                            # ECS.
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                            "readinessProbe": {**probe, "failureThreshold": 3},
                            "livenessProbe": {**probe, "initialDelaySeconds": 15, "failureThreshold": 3},
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": settings.uid,
                                "runAsGroup": settings.gid,
                                "readOnlyRootFilesystem": settings.read_only_root,
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }
                    ],
                },
            },
        },
    }


def _service(name: str, namespace: str) -> dict[str, Any]:
    # ClusterIP: nothing outside the cluster is created, so deleting the stack leaves no load balancer behind.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(name)},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
