"""HTTP/1.1 on the wire, as much as the egress proxy needs: heads, bodies and its own answers.

The proxy forwards one request per client connection (it answers `Connection:
close`), so it never has to tell where one response ends and the next begins
on a shared connection: a request for another host always arrives on a new
connection and gets its own policy check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

type WriteFn = Callable[[bytes], Awaitable[None]]

MAX_HEAD = 64 * 1024
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
     "trailer", "upgrade"}
)  # fmt: skip
EGRESS_HEADER = "X-Traffic-Tool-Egress"  # on the proxy's own refusals: the error type


class BadHeadError(Exception):
    """The peer sent something that is not an HTTP/1.x head we forward."""


@dataclass
class Head:
    first: tuple[str, str, str]  # request: method, target, version; response: version, status, reason
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def without(self, names: frozenset[str]) -> list[tuple[str, str]]:
        """The headers minus `names` and minus any the Connection header lists as hop-by-hop."""
        listed = {t.strip().lower() for t in (self.get("connection") or "").split(",") if t.strip()}
        return [(k, v) for k, v in self.headers if k.lower() not in names and k.lower() not in listed]


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """One head, up to its blank line; None when the peer closed before sending anything."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise BadHeadError("connection closed inside the head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadHeadError("head too large") from exc
    lines = raw[:-4].decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 3:
        if len(first) == 2:  # a status line without a reason phrase
            first.append("")
        else:
            raise BadHeadError("malformed first line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
            raise BadHeadError("malformed header line")
        headers.append((name, value.strip()))
    return Head((first[0], first[1], first[2]), headers)


def encode_head(first: tuple[str, str, str], headers: list[tuple[str, str]]) -> bytes:
    lines = [" ".join(first), *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def request_for_origin(head: Head, path: str) -> bytes:
    """The request as the origin (or a tunnel) receives it: origin-form, no hop-by-hop headers."""
    method, _, version = head.first
    headers = [*head.without(_HOP_BY_HOP), ("Connection", "close")]
    return encode_head((method, path, version), headers)


def request_for_proxy(head: Head, authorization: str | None) -> bytes:
    """The request as an upstream HTTP proxy receives it: absolute-form, its credentials added."""
    method, target, version = head.first
    headers = head.without(_HOP_BY_HOP)
    if authorization:
        headers.append(("Proxy-Authorization", authorization))
    headers.append(("Connection", "close"))
    return encode_head((method, target, version), headers)


def response_for_client(head: Head) -> bytes:
    version, status, reason = head.first
    headers = [*head.without(_HOP_BY_HOP - {"proxy-authenticate"}), ("Connection", "close")]
    return encode_head((version, status, reason), headers)


def refusal(status: HTTPStatus, error_type: str, reason: str) -> bytes:
    """The proxy's own answer: the error type in a header, the reason in the body."""
    body = reason.encode("utf-8", "replace")[:2000]
    headers = [
        (EGRESS_HEADER, error_type),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ]
    return encode_head(("HTTP/1.1", str(status.value), status.phrase), headers) + body


def body_length(head: Head) -> int | None:
    """Content-Length, or None when absent; BadHeadError when it is not one plain number."""
    value = head.get("content-length")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise BadHeadError("bad Content-Length")
    return int(value)


def is_chunked(head: Head) -> bool:
    return "chunked" in (head.get("transfer-encoding") or "").lower()


async def copy_chunked(reader: asyncio.StreamReader, write: WriteFn) -> None:
    """Copy a chunked body through to its last chunk and trailers."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        await write(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the blank line
                line = await reader.readuntil(b"\r\n")
                await write(line)
                if line == b"\r\n":
                    return
        await copy_exactly(reader, write, size + 2)


async def copy_exactly(reader: asyncio.StreamReader, write: WriteFn, count: int) -> None:
    left = count
    while left > 0:
        data = await reader.read(min(left, 65536))
        if not data:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(data)
        await write(data)


async def copy_until_eof(reader: asyncio.StreamReader, write: WriteFn) -> None:
    while data := await reader.read(65536):
        await write(data)
