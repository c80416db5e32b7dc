"""The request-time egress guard: the submit-time policy (`jobcore.urlguard`) applied to every
request a page makes, after DNS resolution.

Resolution happens here, in a thread, with a short cache shared by the worker's
sessions: a page with 50 subresources on one host costs one lookup. Chromium
resolves again when it connects; the cache TTL is kept short so a DNS-rebinding
host has little room, and deployments that need a hard guarantee put the fleet
behind an egress firewall as well (DESIGN.md, Security model).

With `offline_dns` (tests and the local stack) nothing but literal addresses and
`localhost` is resolved, mirroring the host-resolver rules Chromium gets.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
import time
from dataclasses import dataclass

from jobcore.errors import TargetBlockedError
from jobcore.settings import Settings
from jobcore.urlguard import (
    METADATA_HOSTNAMES,
    EgressPolicy,
    IPAddress,
    denial_reason,
    parse_ip_host,
    url_host,
)

_CACHE_TTL_S = 10.0
_CACHE_MAX = 2048


class Verdict(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    UNRESOLVABLE = "unresolvable"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""


class EgressGuard:
    def __init__(self, settings: Settings) -> None:
        self.policy = EgressPolicy(allowed=settings.allowed_networks)
        self.offline = settings.offline_dns
        self._cache: dict[str, tuple[float, list[IPAddress] | None]] = {}

    async def check(self, url: str) -> Decision:
        """ALLOW, DENY (with the reason) or UNRESOLVABLE for a URL the page wants to fetch."""
        try:
            host = url_host(url)
            literal = parse_ip_host(host)
        except TargetBlockedError as exc:
            return Decision(Verdict.DENY, exc.reason)
        if literal is not None:
            reason = denial_reason(literal, self.policy.allowed)
            return Decision(Verdict.DENY, reason) if reason else Decision(Verdict.ALLOW)
        if host.rstrip(".").lower() in METADATA_HOSTNAMES:
            return Decision(Verdict.DENY, f"{host} is a cloud metadata host")
        addresses = await self._resolve(host.rstrip(".").lower())
        if not addresses:
            return Decision(Verdict.UNRESOLVABLE, f"host {host!r} could not be resolved")
        for address in addresses:
            reason = denial_reason(address, self.policy.allowed)
            if reason is not None:
                return Decision(Verdict.DENY, f"{host} resolves to {reason}")
        return Decision(Verdict.ALLOW)

    async def _resolve(self, host: str) -> list[IPAddress] | None:
        now = time.monotonic()
        cached = self._cache.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        if self.offline and host != "localhost" and not host.endswith(".localhost"):
            addresses: list[IPAddress] | None = None
        else:
            addresses = await asyncio.to_thread(_getaddrinfo, host)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[host] = (now + _CACHE_TTL_S, addresses)
        return addresses


def _getaddrinfo(host: str) -> list[IPAddress] | None:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
