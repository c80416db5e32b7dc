"""A SOCKS5 proxy on loopback with username/password auth (RFC 1928/1929), for the upstream-proxy tests.

It records every CONNECT it is asked for; it connects only to loopback addresses (a test fixture,
not a proxy for the world).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct

from tests.support.loop_thread import LoopThread


class Socks5Server:
    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()
        self.connects: list[tuple[str, int]] = []
        self.loop = LoopThread()
        self._server: asyncio.Server | None = None
        self.port = self.loop.run(self._start())

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            _, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            if 2 not in methods:
                writer.write(b"\x05\xff")
                return
            writer.write(b"\x05\x02")
            _, ulen = await reader.readexactly(2)
            user = await reader.readexactly(ulen)
            plen = (await reader.readexactly(1))[0]
            password = await reader.readexactly(plen)
            if (user, password) != (self.username, self.password):
                writer.write(b"\x01\x01")
                return
            writer.write(b"\x01\x00")
            _, command, _, kind = await reader.readexactly(4)
            if kind == 1:
                host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
            elif kind == 4:
                host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
            else:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            self.connects.append((host, port))
            if command != 1 or host not in ("127.0.0.1", "localhost"):
                writer.write(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by ruleset
                return
            up_reader, up_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        writer.close()

    def close(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()

        self.loop.run(_stop())
        self.loop.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
