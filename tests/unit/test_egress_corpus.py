"""The submit-time half of the egress corpus: the one policy refuses every spelling with its reason, and the
one proxy parser refuses every injection. The run-time half is tests/e2e/test_egress_vectors.py."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from jobcore.allow_rules import IPAddress, parse_allow_rules
from jobcore.errors import TargetBlockedError
from jobcore.models import ProxySpec
from jobcore.settings import Settings
from jobcore.urlguard import EgressPolicy, normalize_host, parse_proxy_server, policy_from_settings
from tests.support.egress_vectors import PROXY_SERVERS, SPELLINGS

POLICY = policy_from_settings(Settings(allow_targets="127.0.0.1/32", offline_dns=True))


@pytest.mark.parametrize(("url", "reason"), SPELLINGS, ids=[u for u, _ in SPELLINGS])
def test_every_spelling_is_refused_with_its_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetBlockedError) as caught:
        POLICY.check_url(url)
    assert reason in caught.value.reason


@pytest.mark.parametrize("server", PROXY_SERVERS)
def test_every_proxy_string_injection_is_refused_by_the_model(server: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ProxySpec(server=server)
    assert "server" in str(caught.value)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("SOCKS5://Proxy.Example:1080", "socks5://proxy.example:1080"),
        ("https://[::1]:3128", "https://[::1]:3128"),
        ("http://prøxy.example:80", "http://xn--prxy-hra.example:80"),
    ],
)
def test_proxy_addresses_parse_to_one_canonical_form(server: str, expected: str) -> None:
    assert str(parse_proxy_server(server)) == expected


@pytest.mark.parametrize(
    ("host", "wire"),
    [
        ("evilß.test", "xn--evil-yna.test"),  # UTS-46 non-transitional, as Chromium (IDNA 2003: evilss.test)
        ("EXAMPLE.com.", "example.com"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("0x7f.1", "127.0.0.1"),
    ],
)
def test_hosts_are_read_as_a_browser_puts_them_on_the_wire(host: str, wire: str) -> None:
    assert normalize_host(host) == wire


def test_an_allow_list_entry_with_a_port_admits_only_that_port() -> None:
    policy = EgressPolicy(allowed=parse_allow_rules("127.0.0.1:8081,[::1]:9000"))
    assert policy.check_url("http://127.0.0.1:8081/")
    assert policy.check_url("http://[::1]:9000/")
    for url in ("http://127.0.0.1:8082/", "http://127.0.0.1/", "http://[::1]:9001/"):
        with pytest.raises(TargetBlockedError, match="loopback"):
            policy.check_url(url)


def test_the_stacks_own_services_are_refused_inside_the_allow_list() -> None:
    settings = Settings(allow_targets="127.0.0.1/32", internal_endpoints="127.0.0.1:6379,127.0.0.1:8080")
    policy = policy_from_settings(settings)
    assert policy.check_url("http://127.0.0.1:8081/")
    with pytest.raises(TargetBlockedError, match="this stack's own services"):
        policy.check_url("http://127.0.0.1:6379/")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        "http://[fd00:ec2::254]/",
    ],
)
def test_metadata_is_refused_before_any_lookup(url: str) -> None:
    lookups: list[str] = []

    def resolver(host: str) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("93.184.216.34")]

    policy = EgressPolicy(allowed=parse_allow_rules("169.254.0.0/16,fd00::/8"), resolver=resolver)
    with pytest.raises(TargetBlockedError, match="metadata"):
        policy.check_url(url)
    assert lookups == []


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:70000", "[::1", "nonsense", "127.0.0.1:x"])
def test_bad_allow_list_entries_fail_at_start(text: str) -> None:
    with pytest.raises(ValidationError):
        Settings(allow_targets=text)
