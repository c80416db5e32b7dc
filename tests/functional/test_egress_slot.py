"""A warm tab's egress slot: parked between sessions (every socket cut, every request refused), rebound
to the next session with fresh counts and no pinned DNS answer, and the origins it reached remembered
for the tab's wipe. Real sockets on loopback, the worker's own proxy."""

from __future__ import annotations

import asyncio

from jobcore.settings import Settings
from worker.egress_proxy import EgressProxy


async def _origin_server() -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _get(proxy_port: int, url: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def _scenario() -> None:
    proxy = EgressProxy(Settings(allow_targets="127.0.0.1/32", offline_dns=True))
    origin, port = await _origin_server()
    slot = await proxy.open_session(max_bytes=10_000)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert (await _get(slot.port, url)).endswith(b"ok")
        assert slot.http_requests == 1 and slot.bytes_in > 0
        assert slot.take_origins() == {f"http://127.0.0.1:{port}"} and slot.take_origins() == set()
        # A tunnel left open by the session is cut when the slot is parked.
        reader, writer = await asyncio.open_connection("127.0.0.1", slot.port)
        writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        assert f"https://127.0.0.1:{port}" in slot.take_origins()
        slot.pinned["example.test"] = []
        slot.park()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the tunnel is gone
        writer.close()
        refused = await _get(slot.port, url)
        assert refused.startswith(b"HTTP/1.1 403") and b"outside a session" in refused
        slot.rebind(max_bytes=5_000, upstream=None, on_stop=None)
        assert (slot.max_bytes, slot.bytes_in, slot.http_requests, slot.refused, slot.pinned) == (
            5_000,
            0,
            0,
            0,
            {},
        )
        assert (await _get(slot.port, url)).endswith(b"ok")
    finally:
        slot.close()
        origin.close()
        await proxy.close()


def test_a_slot_is_parked_between_sessions_and_rebound_fresh() -> None:
    asyncio.run(_scenario())
