"""Egress guard against SSRF, used at submit time (API) and for every request a page makes (worker).

The host is parsed the way a browser parses it (WHATWG URL: `2130706433`,
`0177.0.0.1`, `0x7f.1`, `127.1` are all 127.0.0.1), resolved, and every
address it resolves to must be public, unless the deployment's allow-list
of CIDRs covers it. Cloud metadata addresses are refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jobcore.errors import TargetBlockedError
from jobcore.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[IPAddress]]

# Instance-metadata endpoints of the clouds we might run in; never reachable, allow-list or not.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
METADATA_HOSTNAMES = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def system_resolver(host: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetBlockedError(host, f"host {host!r} could not be resolved") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


@dataclass(frozen=True)
class EgressPolicy:
    allowed: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    def check_url(self, url: str) -> list[IPAddress]:
        """Raise TargetBlockedError unless every address of the URL's host may be reached."""
        host = url_host(url)
        return self.check_host(host, url)

    def check_host(self, host: str, url: str = "") -> list[IPAddress]:
        literal = parse_ip_host(host)
        if literal is None and host.rstrip(".").lower() in METADATA_HOSTNAMES:
            raise TargetBlockedError(url or host, f"{host} is a cloud metadata host")
        addresses = [literal] if literal is not None else self.resolver(host)
        if not addresses:
            raise TargetBlockedError(url or host, f"host {host!r} could not be resolved")
        for address in addresses:
            self.check_address(address, url or host)
        if isinstance(literal, ipaddress.IPv4Address) and host != str(literal):
            # Browsers accept 2130706433, 0177.0.0.1 or 127.1, but no honest job needs them, and
            # refusing them leaves no room for parsers that disagree.
            raise TargetBlockedError(
                url or host, f"non-canonical IPv4 spelling {host!r} (it means {literal}); write {literal}"
            )
        return addresses

    def check_address(self, address: IPAddress, url: str = "") -> None:
        reason = denial_reason(address, self.allowed)
        if reason is not None:
            raise TargetBlockedError(url or str(address), reason)


def url_host(url: str) -> str:
    """The host a browser would connect to, refusing spellings where parsers disagree."""
    if "\\" in url:
        raise TargetBlockedError(url, "backslashes in URLs are refused (browsers read them as '/')")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise TargetBlockedError(url, "whitespace or control characters in the URL")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise TargetBlockedError(url, f"malformed URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise TargetBlockedError(url, f"scheme {parts.scheme or 'missing'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise TargetBlockedError(url, "URL has no host")
    if "%" in host:
        raise TargetBlockedError(url, "percent-encoded or zone-scoped hosts are refused")
    return host


def parse_ip_host(host: str) -> IPAddress | None:
    """Parse an IP literal as a browser would (WHATWG host parser); None for a domain name."""
    text = host.strip("[]")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError as exc:
            raise TargetBlockedError(host, f"invalid IPv6 address {host!r}") from exc
    text = text.lower()
    if text.endswith("."):
        text = text[:-1]
    labels = text.split(".")
    if not labels or not labels[-1]:
        return None
    if not _is_ipv4_number(labels[-1]):
        return None
    # The last label is numeric, so WHATWG treats the whole host as IPv4: every label must parse.
    numbers = []
    for label in labels:
        number = _parse_ipv4_number(label)
        if number is None:
            raise TargetBlockedError(host, f"host {host!r} looks numeric but is not a valid IPv4 address")
        numbers.append(number)
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise TargetBlockedError(host, f"host {host!r} is an out-of-range IPv4 address")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(value)


def _is_ipv4_number(label: str) -> bool:
    if label.isdigit():
        return True
    return label.startswith("0x") and all(c in "0123456789abcdef" for c in label[2:])


def _parse_ipv4_number(label: str) -> int | None:
    if not label:
        return None
    if label.startswith("0x"):
        digits = label[2:]
        return (
            int(digits, 16)
            if digits and all(c in "0123456789abcdef" for c in digits)
            else 0
            if not digits
            else None
        )
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8) if all(c in "01234567" for c in label) else None
    return int(label) if label.isdigit() else None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def denial_reason(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why `address` may not be reached, or None when it may."""
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = denial_reason(inner, allowed)
        return None if reason is None else f"{address} embeds {inner}: {reason}"
    for net in allowed:
        if address.version == net.version and address in net:
            return None
    kind = _address_kind(address)
    return None if kind is None else f"{address} is a {kind} address"


def _address_kind(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "carrier-grade NAT (CGNAT)"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None
