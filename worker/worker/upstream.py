"""Connections out of the egress proxy: straight to a checked address, or through a session's own
upstream proxy (http, https or socks5, with its credentials)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import ssl
import struct
from dataclasses import dataclass

from jobcore.allow_rules import IPAddress
from jobcore.errors import ErrorType
from jobcore.urlguard import ProxyAddress
from worker.http_wire import BadHeadError, read_head

CONNECT_TIMEOUT_S = 10.0
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class UpstreamError(Exception):
    """The upstream proxy refused or failed: `error_type` is proxy_auth_failed or proxy_error."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Upstream:
    address: ProxyAddress
    username: str | None = None
    password: str | None = None

    @property
    def basic(self) -> str | None:
        if self.username is None:
            return None
        token = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


async def open_to(addresses: list[IPAddress], port: int, *, tls_host: str | None = None) -> Streams:
    """Connect to the first of `addresses` that answers: these are the checked addresses, never a name."""
    error: OSError | None = None
    context = ssl.create_default_context() if tls_host is not None else None
    for address in addresses:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    str(address), port, ssl=context, server_hostname=tls_host if context else None
                ),
                CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError) as exc:
            error = exc if isinstance(exc, OSError) else OSError(f"connect to {address}:{port} timed out")
    raise error or OSError("no address to connect to")


async def open_proxy(upstream: Upstream, addresses: list[IPAddress]) -> Streams:
    tls_host = upstream.address.host if upstream.address.scheme == "https" else None
    try:
        return await open_to(addresses, upstream.address.port, tls_host=tls_host)
    except OSError as exc:
        raise UpstreamError(
            ErrorType.PROXY_ERROR, f"the session's proxy could not be reached: {exc}"
        ) from exc


async def tunnel(upstream: Upstream, addresses: list[IPAddress], host: str, port: int) -> Streams:
    """A byte stream to host:port through the upstream proxy (CONNECT, or SOCKS5's CONNECT)."""
    reader, writer = await open_proxy(upstream, addresses)
    try:
        if upstream.address.scheme == "socks5":
            await _socks5_connect(reader, writer, upstream, host, port)
        else:
            await _http_connect(reader, writer, upstream, host, port)
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _http_connect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream, host: str, port: int
) -> None:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if upstream.basic:
        lines.append(f"Proxy-Authorization: {upstream.basic}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    try:
        head = await asyncio.wait_for(read_head(reader), CONNECT_TIMEOUT_S)
    except (BadHeadError, TimeoutError, OSError) as exc:
        raise UpstreamError(
            ErrorType.PROXY_ERROR, f"the session's proxy did not answer CONNECT: {exc}"
        ) from exc
    if head is None:
        raise UpstreamError(ErrorType.PROXY_ERROR, "the session's proxy closed the connection")
    raise_for_proxy_status(head.first[1])


def raise_for_proxy_status(status: str) -> None:
    if status == "407":
        raise UpstreamError(ErrorType.PROXY_AUTH_FAILED, "the session's proxy refused the credentials (407)")
    if not status.startswith("2"):
        raise UpstreamError(ErrorType.PROXY_ERROR, f"the session's proxy answered HTTP {status}")


_SOCKS_REPLIES = {
    1: "general failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
    4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
    8: "address type not supported",
}  # fmt: skip


async def _socks5_connect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream, host: str, port: int
) -> None:
    try:
        methods = b"\x00\x02" if upstream.username is not None else b"\x00"
        writer.write(bytes([5, len(methods)]) + methods)
        version, method = await reader.readexactly(2)
        if version != 5 or method == 0xFF:
            raise UpstreamError(
                ErrorType.PROXY_AUTH_FAILED, "the SOCKS proxy accepts none of our auth methods"
            )
        if method == 2:
            user = (upstream.username or "").encode()[:255]
            password = (upstream.password or "").encode()[:255]
            writer.write(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
            _, status = await reader.readexactly(2)
            if status != 0:
                raise UpstreamError(ErrorType.PROXY_AUTH_FAILED, "the SOCKS proxy refused the credentials")
        writer.write(b"\x05\x01\x00" + _socks_address(host) + struct.pack("!H", port))
        reply = await reader.readexactly(4)
        if reply[1] != 0:
            words = _SOCKS_REPLIES.get(reply[1], f"code {reply[1]}")
            raise UpstreamError(ErrorType.PROXY_ERROR, f"the SOCKS proxy could not connect: {words}")
        skip = {1: 4, 4: 16}.get(reply[3])
        if skip is None:
            skip = (await reader.readexactly(1))[0]
        await reader.readexactly(skip + 2)
    except (asyncio.IncompleteReadError, OSError) as exc:
        raise UpstreamError(ErrorType.PROXY_ERROR, f"the SOCKS proxy failed: {exc}") from exc


def _socks_address(host: str) -> bytes:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode("ascii")[:255]
        return bytes([3, len(name)]) + name
    return (b"\x01" if address.version == 4 else b"\x04") + address.packed
