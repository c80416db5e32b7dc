"""Reading a request body as API Gateway would accept it: never more than its limit, never unbounded.

`Content-Length` must be one non-negative decimal number; without it a body comes only chunked (each
chunk's size is checked against the limit before it is read); neither means no body. A negative or
malformed length would otherwise have `rfile.read(-1)` read until the client closes.
"""

from __future__ import annotations

import re
from email.message import Message
from io import BufferedIOBase

_DECIMAL_RE = re.compile(r"^[0-9]{1,19}$")
_HEX_RE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")
_MAX_LINE = 4096  # a chunk-size or trailer line
_MAX_TRAILERS = 64


class RequestBodyError(Exception):
    """The body cannot be read: `status` is 400 (malformed) or 413 (over the limit)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _too_large(size: int, limit: int) -> RequestBodyError:
    return RequestBodyError(413, f"the request body ({size} bytes) exceeds API Gateway's 10 MB limit")


def read_body(headers: Message, rfile: BufferedIOBase, limit: int) -> bytes:
    """The request's body, at most `limit` bytes; RequestBodyError otherwise (close the connection)."""
    lengths = headers.get_all("Content-Length") or []
    coding = headers.get("Transfer-Encoding")
    if coding is not None:
        if lengths:  # both: a proxy and this server could disagree on where the body ends
            raise RequestBodyError(400, "the request has both Content-Length and Transfer-Encoding")
        if coding.strip().lower() != "chunked":
            raise RequestBodyError(400, f"unsupported Transfer-Encoding {coding[:40]!r}")
        return _read_chunked(rfile, limit)
    if not lengths:
        return b""
    values = {value.strip() for value in lengths}
    if len(values) != 1 or not _DECIMAL_RE.match(next(iter(values))):
        raise RequestBodyError(400, "Content-Length must be one non-negative whole number")
    size = int(next(iter(values)))
    if size > limit:
        raise _too_large(size, limit)
    return _read_exactly(rfile, size)


def _read_exactly(rfile: BufferedIOBase, size: int) -> bytes:
    data = rfile.read(size) if size else b""
    if len(data) != size:
        raise RequestBodyError(400, f"the request body ended after {len(data)} of {size} bytes")
    return data


def _line(rfile: BufferedIOBase) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE or not line.endswith(b"\n"):
        raise RequestBodyError(400, "malformed chunked body")
    return line.rstrip(b"\r\n")


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _line(rfile).split(b";", 1)[0].strip()
        if not _HEX_RE.match(size_text):
            raise RequestBodyError(400, "malformed chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise _too_large(total, limit)
        parts.append(_read_exactly(rfile, size))
        if rfile.read(2) != b"\r\n":
            raise RequestBodyError(400, "malformed chunked body")
    for _ in range(_MAX_TRAILERS):
        if not _line(rfile):
            return b"".join(parts)
    raise RequestBodyError(400, "too many trailer lines")
