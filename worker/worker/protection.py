"""ECS task scale-in protection: on while sessions are in flight, off when idle.

Through the ECS agent's task-protection endpoint (`$ECS_AGENT_URI`), which
exists only inside an ECS task; elsewhere (locally, in tests) this does nothing.
Protection expires on its own after `EXPIRES_MIN`, so a worker that dies while
protected does not pin the service; a busy worker refreshes it well before.
"""

from __future__ import annotations

import logging
import os
import time

import httpx

log = logging.getLogger(__name__)

EXPIRES_MIN = 60
REFRESH_S = 20 * 60


class ScaleInProtection:
    def __init__(self, agent_uri: str | None = None) -> None:
        self.agent_uri = agent_uri if agent_uri is not None else os.environ.get("ECS_AGENT_URI", "")
        self.enabled = False
        self._set_at = 0.0

    @property
    def available(self) -> bool:
        return bool(self.agent_uri)

    async def update(self, busy: bool) -> None:
        """Turn protection on when busy, off when idle; refresh it while busy."""
        if not self.available:
            return
        stale = busy and time.monotonic() - self._set_at > REFRESH_S
        if busy == self.enabled and not stale:
            return
        body: dict[str, object] = {"ProtectionEnabled": busy}
        if busy:
            body["ExpiresInMinutes"] = EXPIRES_MIN
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.put(f"{self.agent_uri}/task-protection/v1/state", json=body)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            # Not fatal: without protection a scale-in sends SIGTERM, and SIGTERM hands work back.
            log.warning("scale-in protection update failed: %s", exc)
            return
        self.enabled = busy
        self._set_at = time.monotonic()
        log.info("scale-in protection %s", "on" if busy else "off")
