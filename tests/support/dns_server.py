"""A DNS server on loopback whose answers the test controls, for the egress proxy's resolver.

Names map to a list of IPv4 answers; a name with several answers in its list
answers them in turn, one per query (a rebinding name: allowed first, then
denied). Unknown names are NXDOMAIN; AAAA queries get no answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {name.rstrip(".").lower(): list(values) for name, values in answers.items()}
        self.queries: list[str] = []
        self._turn: dict[str, int] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            with contextlib.suppress(Exception):
                self.sock.sendto(self._respond(data), peer)

    def _respond(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        with self._lock:
            self.queries.append(name)
            values = self.answers.get(name)
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response.to_wire()
            if question.rdtype == dns.rdatatype.A:
                turn = self._turn.get(name, 0)
                self._turn[name] = turn + 1
                address = values[turn % len(values)]
                response.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", address))
        return response.to_wire()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
