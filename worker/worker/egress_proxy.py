"""The worker's egress proxy: the one place a session's traffic leaves the worker.

Every browser context is configured to use this proxy (loopback not
bypassed), on a listener of its own, so a connection's port says which session
it belongs to. For each request or CONNECT the proxy parses the target with
`jobcore.urlguard` (the one parser), resolves the name itself (`jobcore.resolver`,
answers pinned for the session, never shared across sessions), checks every
address with the one policy, and connects to exactly the address it checked:
no second lookup, so no rebinding window. Whatever Chromium thinks a URL means,
only checked addresses are reached. It chains to the session's own upstream
proxy (after checking the upstream's address), counts the session's bytes on
the wire both ways, and past `max_bytes` closes the session's connections.

A warm tab (isolation "tab") keeps its context, so its listener lives as long as
the tab: between two sessions the slot is parked (every connection cut, every
request refused) and then rebound to the next session with fresh counts and no
pinned answers, so no keep-alive connection, tunnel or DNS answer links two
sessions. The slot also remembers the origins its sessions reached: the tab's
wipe clears their storage.

A refusal is an HTTP answer with the error type in `X-Traffic-Tool-Egress`
(for CONNECT, Chromium reports a failed tunnel) and is recorded on the session,
so the runner reports `blocked_target`, `dns_error` or `proxy_*` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from jobcore.allow_rules import IPAddress
from jobcore.errors import ErrorType, TargetBlockedError
from jobcore.limits import MAX_REFUSALS_KEPT
from jobcore.resolver import HostUnresolvableError
from jobcore.settings import Settings
from jobcore.urlguard import EgressPolicy, Target, parse_target, policy_from_settings, resolver_from_settings
from worker import http_wire
from worker.http_wire import BadHeadError, Head, read_head
from worker.upstream import Streams, Upstream, UpstreamError, open_proxy, open_to, tunnel

log = logging.getLogger(__name__)

_CHUNK = 65536

StopFn = Callable[[ErrorType, str], None]


@dataclass(frozen=True)
class Refusal:
    error_type: ErrorType
    host: str
    port: int
    reason: str


class EgressProxy:
    """One per worker process: the policy, the resolver, and the sessions' listeners."""

    def __init__(self, settings: Settings) -> None:
        # The stack's own services and this proxy's listeners: refused even inside the allow-list.
        self.own: set[tuple[IPAddress, int]] = {
            *_redis_endpoint(settings.redis_url),
            *settings.internal_endpoint_set,
        }
        self.policy: EgressPolicy = policy_from_settings(settings, internal=self.own)
        self.resolver = resolver_from_settings(settings)
        self.guard_disabled = settings.egress_guard_disabled_for_tests
        if self.guard_disabled:
            log.warning(
                "EGRESS GUARD DISABLED (egress_guard_disabled_for_tests): tests only, never in production"
            )
        self.deny_all: EgressSession | None = None

    async def start(self) -> None:
        """The listener the browsers are launched with: traffic outside a session's context is refused."""
        self.deny_all = await self.open_session(max_bytes=0, deny_all=True)

    @property
    def launch_proxy_url(self) -> str | None:
        return self.deny_all.server_url if self.deny_all is not None else None

    async def close(self) -> None:
        if self.deny_all is not None:
            self.deny_all.close()

    async def open_session(
        self, *, max_bytes: int, upstream: Upstream | None = None, on_stop: StopFn | None = None,
        deny_all: bool = False,
    ) -> EgressSession:  # fmt: skip
        session = EgressSession(
            self, max_bytes=max_bytes, upstream=upstream, on_stop=on_stop, deny_all=deny_all
        )
        await session.start()
        return session

    async def addresses(
        self, target: Target, pinned: dict[str, list[IPAddress]] | None = None
    ) -> list[IPAddress]:
        """The checked addresses of `target`; TargetBlockedError (incl. HostUnresolvableError) otherwise."""
        literal = target.literal
        where = f"{target.host}:{target.port}"
        if literal is not None:
            addresses = [literal]
        else:
            if not self.guard_disabled:
                self.policy.check_name(target.host, where)
            # Pinned per session: one answer, checked once, connected to every time. The test-only switch
            # turns pinning off too, so the rebinding case can show what pinning prevents.
            if self.guard_disabled:
                pinned = None
            cached = pinned.get(target.host) if pinned is not None else None
            addresses = cached if cached is not None else await self.resolver.aresolve(target.host)
            if pinned is not None:
                pinned[target.host] = addresses
        if not self.guard_disabled:
            self.policy.check_addresses(addresses, target.port, where)
        return addresses


class EgressSession:
    """One session's door to the network: its own listener, its byte counts, its pinned DNS answers."""

    def __init__(
        self, proxy: EgressProxy, *, max_bytes: int, upstream: Upstream | None, on_stop: StopFn | None,
        deny_all: bool = False,
    ) -> None:  # fmt: skip
        self.proxy = proxy
        self.max_bytes = max_bytes
        self.upstream = upstream
        self.on_stop = on_stop
        self.deny_all = deny_all
        self.bytes_in = 0
        self.bytes_out = 0
        self.http_requests = 0
        self.tunnels = 0
        self.refused = 0
        self.refusals: list[Refusal] = []
        self.exceeded = False
        self.port = 0
        self.pinned: dict[str, list[IPAddress]] = {}
        self.parked = False  # a warm tab between sessions: nothing goes out
        self.origins: set[str] = set()  # every origin asked for since the last take_origins()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=http_wire.MAX_HEAD)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.proxy.own.add((ipaddress.IPv4Address("127.0.0.1"), self.port))

    def close(self) -> None:
        """Stop listening and cut every connection: nothing of this session outlives it."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.proxy.own.discard((ipaddress.IPv4Address("127.0.0.1"), self.port))
        self._cut_connections()

    def park(self, *, cut: bool = True) -> None:
        """Between two sessions of a warm tab: cut every connection and refuse whatever comes.
        (`cut=False` only for the probe tests, which show what the cut prevents.)"""
        self.parked = True
        if cut:
            self._cut_connections()

    def rebind(
        self, *, max_bytes: int, upstream: Upstream | None, on_stop: StopFn | None, cut: bool = True
    ) -> None:
        """Serve the tab's next session: its limits, no connection and no DNS answer of the last one."""
        if cut:
            self._cut_connections()
        self.max_bytes, self.upstream, self.on_stop = max_bytes, upstream, on_stop
        self.bytes_in = self.bytes_out = self.http_requests = self.tunnels = self.refused = 0
        self.refusals = []
        self.exceeded = False
        self.pinned = {}
        self.parked = False

    def take_origins(self) -> set[str]:
        """The origins reached since the last call (the wipe clears their storage), then forget them."""
        origins, self.origins = self.origins, set()
        return origins

    async def quiesce(self, timeout_s: float) -> None:
        """Wait, at most `timeout_s`, until none of the session's connections is open."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._writers and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    def refused_hosts(self) -> set[tuple[str, int]]:
        return {(r.host, r.port) for r in self.refusals}

    def last_refusal(self, host: str | None = None) -> Refusal | None:
        for refusal in reversed(self.refusals):
            if host is None or refusal.host == host:
                return refusal
        return None

    def _cut_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    # ---- one client connection: one request, or one tunnel --------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await read_head(reader)
            if head is None:
                return
            if head.first[0] == "CONNECT":
                upstream = await self._tunnel(head, reader, writer)
            else:
                upstream = await self._forward(head, reader, writer)
        except BadHeadError as exc:
            await _answer(writer, http_wire.refusal(HTTPStatus.BAD_REQUEST, "bad_request", str(exc)))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            log.debug("egress connection ended: %s", exc)
        finally:
            if upstream is not None:
                upstream.transport.abort()
            if self.exceeded:
                writer.transport.abort()
            else:
                writer.close()
            self._writers.discard(writer)

    async def _tunnel(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> asyncio.StreamWriter | None:
        authority = head.first[1]
        opened = await self._open(head, f"https://{authority}/", tunnel_only=True)
        if isinstance(opened, bytes):
            await _answer(writer, opened)
            return None
        up_reader, up_writer, _ = opened
        self.tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        await self._relay(reader, writer, up_reader, up_writer)
        return up_writer

    async def _forward(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> asyncio.StreamWriter | None:
        url = head.first[1]
        if not url.lower().startswith("http://"):
            await _answer(
                writer, http_wire.refusal(HTTPStatus.BAD_REQUEST, "bad_request", "absolute http URL expected")
            )
            return None
        opened = await self._open(head, url, tunnel_only=False)
        if isinstance(opened, bytes):
            await _answer(writer, opened)
            return None
        up_reader, up_writer, via_proxy = opened
        self.http_requests += 1
        if via_proxy:
            request = http_wire.request_for_proxy(head, self.upstream.basic if self.upstream else None)
        else:
            request = http_wire.request_for_origin(head, _origin_form(url))
        await self._send_up(up_writer, request)
        length = http_wire.body_length(head)
        if length is not None:
            await http_wire.copy_exactly(reader, lambda d: self._send_up(up_writer, d), length)
        elif http_wire.is_chunked(head):
            await http_wire.copy_chunked(reader, lambda d: self._send_up(up_writer, d))
        await self._relay_response(head, up_reader, writer, via_proxy)
        return up_writer

    async def _relay_response(
        self, request: Head, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, via_proxy: bool
    ) -> None:
        response = await read_head(up_reader)
        while response is not None and response.first[1].startswith("1") and response.first[1] != "101":
            response = await read_head(up_reader)  # 100 Continue and the like: the final answer follows
        if response is None:
            return
        self._count_in(len(http_wire.encode_head(response.first, response.headers)))
        if via_proxy and response.first[1] == "407":  # the upstream proxy's own answer, not the site's
            target = parse_target(request.first[1])
            reason = "the session's proxy refused the credentials (407)"
            await _answer(writer, self._refuse(ErrorType.PROXY_AUTH_FAILED, target.host, target.port, reason))
            return
        writer.write(http_wire.response_for_client(response))
        status = response.first[1]
        if request.first[0] == "HEAD" or status in ("204", "304"):
            return
        length = http_wire.body_length(response)
        if length is not None:
            await http_wire.copy_exactly(up_reader, lambda d: self._send_down(writer, d), length)
        else:
            await http_wire.copy_until_eof(up_reader, lambda d: self._send_down(writer, d))
        await writer.drain()

    async def _open(
        self, head: Head, url: str, *, tunnel_only: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool] | bytes:
        """Check and connect: the streams (and whether they lead to an HTTP proxy), or the refusal to send."""
        if self.deny_all or self.parked:
            return self._refuse(ErrorType.BLOCKED_TARGET, "", 0, "traffic outside a session is refused")
        if self.exceeded:
            return self._refuse(ErrorType.BANDWIDTH_EXCEEDED, "", 0, "the session's max_bytes is spent")
        try:
            target = parse_target(url)
        except TargetBlockedError as exc:
            return self._refuse(ErrorType.BLOCKED_TARGET, "", 0, exc.reason)
        # A CONNECT may carry https or ws alike: both origins; a plain request is its http origin.
        self.origins.update(_origins(target.host, target.port, plain=not tunnel_only))
        try:
            addresses = await self.proxy.addresses(target, self.pinned)
            streams: Streams
            via_proxy = False
            if self.upstream is None:
                streams = await open_to(addresses, target.port)
            else:
                proxy_target = Target(
                    self.upstream.address.scheme, self.upstream.address.host, self.upstream.address.port
                )
                proxy_addresses = await self.proxy.addresses(proxy_target, self.pinned)
                if tunnel_only or self.upstream.address.scheme == "socks5":
                    streams = await tunnel(self.upstream, proxy_addresses, target.host, target.port)
                else:
                    streams = await open_proxy(self.upstream, proxy_addresses)
                    via_proxy = True
        except HostUnresolvableError as exc:
            return self._refuse(ErrorType.DNS_ERROR, target.host, target.port, exc.reason)
        except TargetBlockedError as exc:
            return self._refuse(ErrorType.BLOCKED_TARGET, target.host, target.port, exc.reason)
        except UpstreamError as exc:
            return self._refuse(exc.error_type, target.host, target.port, exc.message)
        except OSError as exc:
            return self._refuse(
                ErrorType.CONNECTION_ERROR, target.host, target.port, f"connect failed: {exc}"
            )
        return streams[0], streams[1], via_proxy

    def _refuse(self, error_type: ErrorType, host: str, port: int, reason: str) -> bytes:
        self.refused += 1
        if len(self.refusals) < MAX_REFUSALS_KEPT:
            self.refusals.append(Refusal(error_type, host, port, reason))
        if error_type is ErrorType.BLOCKED_TARGET:
            log.info("egress refused %s:%s: %s", host, port, reason)
        status = HTTPStatus.FORBIDDEN if error_type is ErrorType.BLOCKED_TARGET else HTTPStatus.BAD_GATEWAY
        return http_wire.refusal(status, error_type.value, reason)

    # ---- bytes ----------------------------------------------------------------------------------

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
    ) -> None:  # fmt: skip
        upward = asyncio.ensure_future(_pump(reader, lambda d: self._send_up(up_writer, d)))
        downward = asyncio.ensure_future(_pump(up_reader, lambda d: self._send_down(writer, d)))
        try:
            await asyncio.wait({upward, downward}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            upward.cancel()
            downward.cancel()
            await asyncio.gather(upward, downward, return_exceptions=True)

    async def _send_up(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        self.bytes_out += len(data)
        writer.write(data)
        await writer.drain()

    async def _send_down(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        self._count_in(len(data))
        if self.exceeded:
            raise ConnectionAbortedError("max_bytes spent")
        writer.write(data)
        await writer.drain()

    def _count_in(self, count: int) -> None:
        self.bytes_in += count
        if self.bytes_in > self.max_bytes and not self.exceeded and not self.deny_all:
            self.exceeded = True
            self._cut_connections()
            if self.on_stop is not None:
                self.on_stop(
                    ErrorType.BANDWIDTH_EXCEEDED, f"{self.bytes_in} bytes > max_bytes {self.max_bytes}"
                )


async def _pump(reader: asyncio.StreamReader, write: http_wire.WriteFn) -> None:
    while data := await reader.read(_CHUNK):
        await write(data)


async def _answer(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(OSError):
        writer.write(data)
        await writer.drain()


def _origins(host: str, port: int, *, plain: bool) -> tuple[str, ...]:
    """The origins host:port may be, as the browser's storage names them."""
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    http = f"http://{name}" + ("" if port == 80 else f":{port}")
    return (http,) if plain else (http, f"https://{name}" + ("" if port == 443 else f":{port}"))


def _origin_form(url: str) -> str:
    """`http://host:port/path?q` → `/path?q`, exactly as sent (no re-encoding)."""
    rest = url.split("://", 1)[1]
    slash = rest.find("/")
    query = rest.find("?")
    cut = min(i for i in (slash, query, len(rest)) if i >= 0)
    path = rest[cut:]
    return path if path.startswith("/") else "/" + path


def _redis_endpoint(redis_url: str) -> list[tuple[IPAddress, int]]:
    parts = urlsplit(redis_url)
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return []  # a name: production Redis sits in private ranges, which the policy refuses anyway
    return [(address, parts.port or 6379)]
