"""The one name resolver of the egress policy: the API's submit-time check and the worker's egress proxy.

With no servers configured it asks the system (getaddrinfo: /etc/hosts, the VPC
resolver). With `TRAFFIC_TOOL_DNS_SERVERS` it asks exactly those servers over
DNS (dnspython), which is how the tests run a DNS server on loopback whose
answers they control. In offline mode (tests and the local stack) without
servers, only `localhost` resolves: nothing reaches a real DNS server.

Answers are never cached here: the egress proxy pins each answer for one
session, and checks and connects to the same addresses (no second lookup).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.resolver

from jobcore.allow_rules import IPAddress
from jobcore.errors import TargetBlockedError

_TIMEOUT_S = 3.0


class HostUnresolvableError(TargetBlockedError):
    """The name has no address (NXDOMAIN, no answer, resolver failure)."""


class Resolver:
    def __init__(self, servers: Sequence[str] = (), *, offline: bool = False) -> None:
        self.servers = tuple(servers)
        self.offline = offline and not self.servers

    def resolve(self, host: str) -> list[IPAddress]:
        """Every address of `host` (an ASCII name), or HostUnresolvableError."""
        name = host.rstrip(".").lower()
        if self.servers:
            # The API's sync path; the DNS client is written once, async (the worker's path).
            return asyncio.run(self.aresolve(name))
        if self.offline and not _is_localhost(name):
            raise _unresolvable(name)
        return _getaddrinfo(name)

    async def aresolve(self, host: str) -> list[IPAddress]:
        name = host.rstrip(".").lower()
        if self.servers:
            return await _aanswers(name, self._dns())
        if self.offline and not _is_localhost(name):
            raise _unresolvable(name)
        return await asyncio.to_thread(_getaddrinfo, name)

    def _dns(self) -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [s.rsplit(":", 1)[0] if s.count(":") == 1 else s for s in self.servers]
        ports = {s.rsplit(":", 1)[1] for s in self.servers if s.count(":") == 1}
        if ports:
            resolver.port = int(ports.pop())
        resolver.lifetime = _TIMEOUT_S
        resolver.cache = None
        return resolver


def parse_dns_servers(text: str) -> tuple[str, ...]:
    """`127.0.0.1:5353,10.0.0.2`: IPv4 with an optional port, or bare IPv6."""
    servers = tuple(s.strip() for s in text.split(",") if s.strip())
    for server in servers:
        address = server.rsplit(":", 1)[0] if server.count(":") == 1 else server
        ipaddress.ip_address(address)
    return servers


def _is_localhost(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


def _unresolvable(name: str) -> HostUnresolvableError:
    return HostUnresolvableError(name, f"host {name!r} could not be resolved")


def _getaddrinfo(name: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise _unresolvable(name) from exc
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise _unresolvable(name)
    return seen


async def _aanswers(name: str, resolver: dns.asyncresolver.Resolver) -> list[IPAddress]:
    found: list[IPAddress] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = await resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            continue
        except dns.exception.DNSException as exc:
            raise _unresolvable(name) from exc
        found.extend(ipaddress.ip_address(r.to_text()) for r in answer)
    if not found:
        raise _unresolvable(name)
    return found
