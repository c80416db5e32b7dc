"""The one resolver against a DNS server on loopback: the API's sync path and the worker's async path
ask the configured servers, and the policy refuses a name by what it resolves to."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import pytest

from jobcore.errors import TargetBlockedError
from jobcore.resolver import HostUnresolvableError, Resolver
from jobcore.settings import Settings
from jobcore.urlguard import policy_from_settings
from tests.support.dns_server import DnsServer


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer(
        {"site.test": ["127.0.0.1"], "canary.test": ["127.0.0.2"], "flip.test": ["127.0.0.1", "127.0.0.2"]}
    )
    yield server
    server.close()


def test_both_paths_ask_the_configured_server(dns: DnsServer) -> None:
    resolver = Resolver([dns.server])
    assert resolver.resolve("site.test") == [ipaddress.ip_address("127.0.0.1")]
    assert asyncio.run(resolver.aresolve("canary.test.")) == [ipaddress.ip_address("127.0.0.2")]
    with pytest.raises(HostUnresolvableError):
        resolver.resolve("nowhere.test")
    assert "site.test" in dns.queries and "nowhere.test" in dns.queries


def test_submit_time_policy_refuses_a_name_by_its_answer(dns: DnsServer) -> None:
    policy = policy_from_settings(Settings(allow_targets="127.0.0.1/32", dns_servers=dns.server))
    assert policy.check_url("http://site.test:8080/")
    with pytest.raises(TargetBlockedError, match="loopback"):
        policy.check_url("http://canary.test/")


def test_answers_are_not_cached_by_the_resolver(dns: DnsServer) -> None:
    # Pinning is the egress proxy's job, per session; the resolver itself asks every time.
    resolver = Resolver([dns.server])
    first, second = resolver.resolve("flip.test"), resolver.resolve("flip.test")
    assert first != second
