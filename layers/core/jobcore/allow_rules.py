"""The egress allow-list: addresses (CIDRs), optionally with one port, exempt from the egress policy.

`TRAFFIC_TOOL_ALLOW_TARGETS` is a comma-separated list of entries:
`127.0.0.1/32` (every port), `127.0.0.1:8081` (one port), `[::1]:8081`, `10.0.0.0/8`.
Empty in production; the tests and the local stack name exactly what they serve.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AllowRule:
    network: IPNetwork
    port: int | None = None

    def covers(self, address: IPAddress, port: int | None) -> bool:
        if address.version != self.network.version or address not in self.network:
            return False
        return self.port is None or self.port == port

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        host = str(self.network.network_address) if self.network.num_addresses == 1 else str(self.network)
        return f"[{host}]:{self.port}" if self.network.version == 6 else f"{host}:{self.port}"


def parse_allow_rules(text: str) -> tuple[AllowRule, ...]:
    """Parse the allow-list; a bare address means a single host, `:port` narrows it to one port."""
    rules: list[AllowRule] = []
    for raw in text.split(","):
        item = raw.strip()
        if item:
            rules.append(_parse_rule(item))
    return tuple(rules)


def _parse_rule(item: str) -> AllowRule:
    port: int | None = None
    cidr = item
    if item.startswith("["):
        inner, sep, rest = item[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"allow-list entry {item!r}: write [IPv6]:port or an IPv6 CIDR")
        cidr, port = inner, _port(rest[1:], item) if rest else None
    elif item.count(":") == 1:
        cidr, _, port_text = item.partition(":")
        port = _port(port_text, item)
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise ValueError(f"allow-list entry {item!r} is not an address or CIDR") from exc
    return AllowRule(network, port)


def _port(text: str, item: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise ValueError(f"allow-list entry {item!r}: port must be 1-65535")
    return int(text)
