"""The egress policy: may a session reach this address? One parser, one resolver, one policy.

Used at submit time by the API (every session's URL and proxy) and at connect
time by the worker's egress proxy, which connects only to the addresses it
checked here. Hosts are parsed as a browser parses them: WHATWG's IPv4 rules
(`2130706433`, `0177.0.0.1`, `127.1` all mean 127.0.0.1) and UTS-46
non-transitional mapping for names (`evilß.test` is `xn--evil-yna.test`, as in
Chromium, not `evilss.test` as in IDNA 2003). Non-canonical IPv4 spellings are
refused everywhere: no honest job needs them, and refusing them leaves no room
for parsers that disagree. Every address a name resolves to must be public
unless the allow-list covers it (address, optionally port); cloud metadata
addresses and the stack's own services are refused even then.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import idna

from jobcore.allow_rules import AllowRule, IPAddress
from jobcore.errors import TargetBlockedError
from jobcore.resolver import Resolver
from jobcore.settings import Settings

ResolveFn = Callable[[str], list[IPAddress]]

# Instance-metadata endpoints of the clouds we might run in; never reachable, allow-list or not.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
METADATA_HOSTNAMES = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
PROXY_SCHEMES = ("http", "https", "socks5")

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_MAX_HOST = 253
_FORBIDDEN_IN_PROXY = frozenset(";=, \t\r\n\\@/?#")


@dataclass(frozen=True)
class Target:
    """Where a URL points: its scheme, its host as a browser puts it on the wire, its port."""

    scheme: str
    host: str
    port: int
    spelled: str = field(default="", compare=False)  # the host as written, when it differs

    @property
    def literal(self) -> IPAddress | None:
        return parse_ip_host(self.host)


@dataclass(frozen=True)
class ProxyAddress:
    """A session's upstream proxy: `scheme://host:port`, nothing else."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class EgressPolicy:
    allowed: tuple[AllowRule, ...] = ()
    resolver: Resolver | ResolveFn = field(default_factory=Resolver, compare=False)
    # The stack's own services (Redis, the egress proxy's listeners): refused even inside the allow-list.
    internal: Container[tuple[IPAddress, int]] = field(default_factory=frozenset, compare=False)

    def check_url(self, url: str) -> list[IPAddress]:
        """Raise TargetBlockedError unless every address of the URL's host may be reached."""
        return self.check_target(parse_target(url), url)

    def check_target(self, target: Target, where: str = "") -> list[IPAddress]:
        where = where or target.host
        literal = target.literal
        if literal is None:
            self.check_name(target.host, where)
            addresses = self._resolve(target.host)
        else:
            addresses = [literal]
        self.check_addresses(addresses, target.port, where)
        if literal is not None and target.spelled:
            # Browsers accept 2130706433, 0177.0.0.1 or 127.1, but no honest job needs them.
            raise TargetBlockedError(
                where, f"non-canonical IPv4 spelling {target.spelled!r} (it means {literal}); write {literal}"
            )
        return addresses

    def check_name(self, host: str, where: str = "") -> None:
        """Refuse names that are never to be resolved (metadata hosts), before any lookup."""
        if host.rstrip(".").lower() in METADATA_HOSTNAMES:
            raise TargetBlockedError(where or host, f"{host} is a cloud metadata host")

    def check_addresses(self, addresses: Iterable[IPAddress], port: int | None, where: str) -> None:
        """Every address must be allowed: one denied answer refuses the name (DNS rebinding's setup)."""
        for address in addresses:
            reason = self.denial_reason(address, port)
            if reason is not None:
                raise TargetBlockedError(where, reason)

    def denial_reason(self, address: IPAddress, port: int | None) -> str | None:
        if port is not None and (address, port) in self.internal:
            return f"{address}:{port} is one of this stack's own services"
        return denial_reason(address, self.allowed, port)

    def _resolve(self, host: str) -> list[IPAddress]:
        resolver = self.resolver
        return resolver.resolve(host) if isinstance(resolver, Resolver) else resolver(host)


def parse_target(url: str) -> Target:
    """The (scheme, host, port) a browser would connect to, refusing spellings where parsers disagree."""
    if "\\" in url:
        raise TargetBlockedError(url, "backslashes in URLs are refused (browsers read them as '/')")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise TargetBlockedError(url, "whitespace or control characters in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetBlockedError(url, f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise TargetBlockedError(url, f"scheme {parts.scheme or 'missing'!r} is not http or https")
    # `http:///host/` and `http:////host/`: browsers skip the extra slashes, Python reads no host.
    if not url[len(parts.scheme) + 1 :].startswith("//") or url[len(parts.scheme) + 3 :].startswith("/"):
        raise TargetBlockedError(url, "URL has no host after '//'")
    raw = parts.hostname
    if not raw:
        raise TargetBlockedError(url, "URL has no host")
    host = normalize_host(raw, url)
    ipv4 = isinstance(parse_ip_host(host), ipaddress.IPv4Address)
    spelled = raw if ipv4 and raw != host else ""
    return Target(scheme, host, port if port is not None else DEFAULT_PORTS[scheme], spelled)


def url_host(url: str) -> str:
    return parse_target(url).host


def normalize_host(host: str, where: str = "") -> str:
    """The host as a browser puts it on the wire: canonical IP text, or the UTS-46 ASCII name.

    As in the WHATWG host parser, a name is mapped (UTS-46) before it is read as IPv4, so `\uff10x7f.1`
    (fullwidth) is 127.0.0.1 too."""
    where = where or host
    if "%" in host:
        raise TargetBlockedError(where, "percent-encoded or zone-scoped hosts are refused")
    if host.startswith("["):
        return str(parse_ip_host(host))
    name = host[:-1] if host.endswith(".") else host
    if name.isascii():
        ascii_name = name.lower()
    else:
        try:
            ascii_name = idna.encode(name, uts46=True, transitional=False, std3_rules=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise TargetBlockedError(where, f"host {host!r} is not a valid internationalised name") from exc
        ascii_name = ascii_name.lower()
    literal = parse_ip_host(ascii_name)
    if literal is not None:
        return str(literal)
    if not ascii_name or len(ascii_name) > _MAX_HOST:
        raise TargetBlockedError(where, f"host {host!r} is empty or too long")
    return ascii_name


def parse_proxy_server(text: str) -> ProxyAddress:
    """`scheme://host:port` with scheme http, https or socks5 and the port required, strictly: no lists,
    no rules strings (`;`, `=`), no spaces, no credentials, no path."""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in PROXY_SCHEMES:
        raise ValueError("proxy server must be scheme://host:port with scheme http, https or socks5")
    if any(ch in _FORBIDDEN_IN_PROXY or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in rest):
        raise ValueError("proxy server must be scheme://host:port: no path, list, rules or credentials")
    if rest.startswith("["):
        host, close, port_text = rest[1:].partition("]")
        if not close or not port_text.startswith(":"):
            raise ValueError("proxy server must be scheme://[IPv6]:port")
        port_text = port_text[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon or ":" in host:
            raise ValueError("proxy server must name its port: scheme://host:port")
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError("proxy server port must be 1-65535")
    try:
        canonical = normalize_host(host)
    except TargetBlockedError as exc:
        raise ValueError(f"proxy server host: {exc.reason}") from exc
    literal = parse_ip_host(canonical)
    if isinstance(literal, ipaddress.IPv4Address) and host.lower() != canonical:
        raise ValueError(f"proxy server host: non-canonical IPv4 spelling {host!r}; write {literal}")
    return ProxyAddress(scheme.lower(), canonical, int(port_text))


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
    if label.isascii() and label.isdigit():
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
    return int(label) if label.isascii() and label.isdigit() else None


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


def denial_reason(
    address: IPAddress, allowed: Iterable[AllowRule] = (), port: int | None = None
) -> str | None:
    """Why `address` (at `port`) may not be reached, or None when it may."""
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = denial_reason(inner, allowed, port)
        return None if reason is None else f"{address} embeds {inner}: {reason}"
    if any(rule.covers(address, port) for rule in allowed):
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


def policy_from_settings(
    settings: Settings, internal: Container[tuple[IPAddress, int]] | None = None
) -> EgressPolicy:
    """The deployment's policy: its allow-list, its resolver (servers, offline mode), its own services
    (`internal` may be a live set holding them: the egress proxy adds its listeners as it opens them)."""
    return EgressPolicy(
        allowed=settings.allow_rules,
        resolver=resolver_from_settings(settings),
        internal=settings.internal_endpoint_set if internal is None else internal,
    )


def resolver_from_settings(settings: Settings) -> Resolver:
    return Resolver(settings.dns_server_list, offline=settings.offline_dns)
