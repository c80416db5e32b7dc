"""The per-job cap on artifact bytes: one Redis counter per job, shared by every worker of the fleet."""

from __future__ import annotations

import redis

from jobcore import keys, limits


class ArtifactBudget:
    def __init__(self, client: redis.Redis, ttl_s: int, cap: int = limits.MAX_ARTIFACT_BYTES_PER_JOB) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.cap = cap

    def reserve(self, job_id: str, size: int) -> bool:
        """Take `size` bytes of the job's budget; False (and nothing taken) when it would pass the cap."""
        key = keys.artifact_bytes(job_id)
        pipe = self.client.pipeline()
        pipe.incrby(key, size)
        pipe.expire(key, self.ttl_s)
        total = int(pipe.execute()[0])
        if total > self.cap:
            self.client.decrby(key, size)
            return False
        return True
