"""The egress proxy against the corpus: from a page on the allowed host, every vector tries to reach
a canary on an address the policy denies (127.0.0.2, 127.0.0.3, [::1], names resolving there).

Guarded, no canary sees a connection and no result carries the canary's content.
Unguarded (the test-only switch), each vector does reach a canary: so each case
can fail, and the guard is what stops it.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jobcore.models import SessionResult
from tests.support.attack_site import AttackSite
from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.canary import SECRET, Canary
from tests.support.dns_server import DnsServer
from tests.support.egress_vectors import REBIND_PAGE, RUNTIME, SPECULATION_PAGES, Vector, fill

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@dataclass
class World:
    site: AttackSite
    canaries: list[Canary]
    dns: DnsServer
    values: dict[str, str]

    def connections(self) -> int:
        return sum(c.count() for c in self.canaries)


def _has_ipv6_loopback() -> bool:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return True
    return False


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback in this namespace")
    site = AttackSite()
    c2, c3, c6 = Canary("127.0.0.2"), Canary("127.0.0.3"), Canary("::1")
    rebind = Canary("127.0.0.2", site.port)  # where rebind.test's second answer points
    dns = DnsServer(
        {
            "canary.test": ["127.0.0.2"],
            "xn--evil-yna.test": ["127.0.0.2"],
            "rebind.test": ["127.0.0.1", "127.0.0.2"],
        }
    )
    values = {
        "SITE": site.origin(), "SP": str(site.port),
        "P2": str(c2.port), "P3": str(c3.port), "P6": str(c6.port),
        "C2": f"http://{c2.authority}", "C3": f"http://{c3.authority}", "C6": f"http://{c6.authority}",
        "W3": f"ws://{c3.authority}",
    }  # fmt: skip
    for vector in RUNTIME:
        if vector.kind == "page":
            site.pages[vector.name] = "<!doctype html><meta charset=utf-8>" + fill(vector.body, values)
        elif vector.kind in ("redirect", "refresh"):
            site.locations[vector.name] = fill(vector.body, values)
        for name, script in vector.scripts.items():
            site.scripts[name] = fill(script, values)
    site.locations["absolute"] = fill("{C2}/abs", values)
    site.pages["rebind-page"] = fill(REBIND_PAGE, values)
    for name, page in SPECULATION_PAGES.items():
        site.pages[name] = fill(page, values)
    yield World(site, [c2, c3, c6, rebind], dns, values)
    for canary in (c2, c3, c6, rebind):
        canary.close()
    dns.close()
    site.close()


def _harness(world: World, *, guard_off: bool) -> Iterator[BrowserHarness]:
    settings = browser_settings(dns_servers=world.dns.server, egress_guard_disabled_for_tests=guard_off)
    harness = BrowserHarness(settings)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def guarded(world: World) -> Iterator[BrowserHarness]:
    yield from _harness(world, guard_off=False)


@pytest.fixture(scope="module")
def unguarded(world: World) -> Iterator[BrowserHarness]:
    yield from _harness(world, guard_off=True)


def _run(harness: BrowserHarness, world: World, vector: Vector) -> tuple[SessionResult, int]:
    start = {
        "page": f"{world.site.origin()}/v/{vector.name}",
        "redirect": f"{world.site.origin()}/r/{vector.code}/{vector.name}",
        "refresh": f"{world.site.origin()}/refresh/{vector.name}",
        "start": fill(vector.body, world.values),
    }[vector.kind]
    wait_ms = vector.wait_ms or (600 if vector.kind == "start" else 0)
    steps = [*vector.steps, *([{"action": "wait", "ms": wait_ms}] if wait_ms else [])]
    before = world.connections()
    result = harness.run({"url": start, "block": [], "timeout_s": 6, "steps": steps})
    return result, world.connections() - before


@pytest.mark.parametrize("vector", RUNTIME, ids=[v.name for v in RUNTIME])
def test_guarded_vector_reaches_no_canary(guarded: BrowserHarness, world: World, vector: Vector) -> None:
    result, reached = _run(guarded, world, vector)
    assert reached == 0, f"{vector.name}: {reached} connection(s) reached a canary"
    assert SECRET not in json.dumps(result.model_dump(mode="json"))


@pytest.mark.parametrize("vector", RUNTIME, ids=[v.name for v in RUNTIME])
def test_unguarded_vector_does_reach_a_canary(
    unguarded: BrowserHarness, world: World, vector: Vector
) -> None:
    if not vector.reaches_unguarded:
        pytest.skip(f"{vector.name}: stopped before any request by something other than the egress guard")
    _, reached = _run(unguarded, world, vector)
    assert reached > 0, (
        f"{vector.name}: even without the guard nothing reached a canary (the case proves nothing)"
    )


@pytest.mark.parametrize("kind", ["Worker", "SharedWorker"])
def test_worker_traffic_counts_against_max_bytes(guarded: BrowserHarness, world: World, kind: str) -> None:
    # Given a page whose worker fetches 100 MiB from the allowed host, under a 2 MiB budget
    name = f"big-{kind}"
    world.site.scripts[name] = 'fetch("/big?mb=100").then(r => r.arrayBuffer()).catch(() => {});'
    world.site.pages[name] = f'<script>new {kind}("/js/{name}");</script>'
    budget = 2 * 1024 * 1024
    result = guarded.run(
        {
            "url": f"{world.site.origin()}/v/{name}",
            "max_bytes": budget,
            "timeout_s": 10,
            "steps": [{"action": "wait", "ms": 5000}],
        }
    )
    # Then the proxy counted the worker's bytes on the wire and ended the session past the budget
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "bandwidth_exceeded", result.error
    assert budget < result.bytes_in < 4 * budget
    assert result.bytes_out > 0
