"""The fleet's capacity in AWS: the desired count of the workers' ECS service."""

from __future__ import annotations

from typing import Any

from jobcore.errors import CapacityUnavailableError


class EcsCapacity:
    """CapacityBackend over one ECS service. The scaler is the only writer of its desired count."""

    def __init__(self, cluster: str, service: str, client: Any | None = None) -> None:
        if not cluster or not service:
            raise ValueError("EcsCapacity needs both a cluster and a service name")
        self.cluster = cluster
        self.service = service
        if client is None:
            import boto3

            client = boto3.client("ecs")
        self._ecs = client

    def current(self) -> int:
        reply = self._ecs.describe_services(cluster=self.cluster, services=[self.service])
        active = [s for s in reply.get("services", []) if s.get("status") == "ACTIVE"]
        if not active:
            reasons = [f.get("reason", "?") for f in reply.get("failures", [])] or ["not active"]
            raise CapacityUnavailableError(
                f"ECS service {self.service} in cluster {self.cluster}: {', '.join(reasons)}"
            )
        return int(active[0]["desiredCount"])

    def set_desired(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"a desired count cannot be negative ({count})")
        self._ecs.update_service(cluster=self.cluster, service=self.service, desiredCount=count)
