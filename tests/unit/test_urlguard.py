"""The submit-time egress guard: odd spellings parse as a browser parses them, and are refused."""

from __future__ import annotations

import ipaddress

import pytest

from jobcore.allow_rules import parse_allow_rules as parse_cidrs
from jobcore.errors import TargetBlockedError
from jobcore.urlguard import EgressPolicy, IPAddress, parse_ip_host

LOOPBACK_ONLY = EgressPolicy(allowed=parse_cidrs("127.0.0.1/32"))
NOTHING_ALLOWED = EgressPolicy()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("example.com", None),
        ("1e100.net", None),
    ],
)
def test_hosts_parse_as_a_browser_parses_them(host: str, expected: str | None) -> None:
    parsed = parse_ip_host(host)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.2/", "loopback"),
        ("http://0177.0.0.2/", "loopback"),
        ("http://2130706434/", "loopback"),
        ("http://127.2/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::ffff:127.0.0.2]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://metadata.google.internal/", "metadata"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "unique-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[64:ff9b::7f00:2]/", "loopback"),
        ("http://allowed.example@127.0.0.2/", "loopback"),
        ("http://user:pass@10.1.2.3:8080/", "private"),
        ("http://127.0.0.1\\@10.0.0.1/", "backslash"),
        ("ftp://127.0.0.1/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://256.1.1.1/", "out-of-range"),
        ("http://08.1/", "not a valid IPv4"),
    ],
)
def test_denied_targets_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetBlockedError) as caught:
        LOOPBACK_ONLY.check_url(url)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/page", "https://127.0.0.1/", "http://[::ffff:127.0.0.1]/"]
)
def test_the_allow_list_admits_exactly_its_cidrs(url: str) -> None:
    assert LOOPBACK_ONLY.check_url(url)


@pytest.mark.parametrize(
    "host", ["2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "127.0.0.1.", "127.000.0.1"]
)
def test_odd_spellings_of_an_allowed_address_are_refused(host: str) -> None:
    with pytest.raises(TargetBlockedError, match="non-canonical IPv4 spelling"):
        LOOPBACK_ONLY.check_url(f"http://{host}/")


def test_without_an_allow_list_loopback_is_refused() -> None:
    with pytest.raises(TargetBlockedError, match="loopback"):
        NOTHING_ALLOWED.check_url("http://127.0.0.1/")


def test_metadata_is_refused_even_when_allow_listed() -> None:
    policy = EgressPolicy(allowed=parse_cidrs("169.254.0.0/16"))
    with pytest.raises(TargetBlockedError, match="metadata"):
        policy.check_url("http://169.254.169.254/")


def test_a_name_is_refused_when_any_address_it_resolves_to_is_denied() -> None:
    # Given a name that resolves to one allowed and one denied address (DNS rebinding's setup)
    def resolver(host: str) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.9.8.7")]

    policy = EgressPolicy(allowed=parse_cidrs("127.0.0.1/32"), resolver=resolver)
    # Then the guard refuses it, before any request is made
    with pytest.raises(TargetBlockedError, match="private"):
        policy.check_url("http://rebind.test/")


def test_names_are_resolved_before_the_policy_is_applied() -> None:
    # localhost resolves to loopback through /etc/hosts, which this policy does not allow
    policy = EgressPolicy(allowed=parse_cidrs("127.0.0.2/32"))
    with pytest.raises(TargetBlockedError, match="loopback"):
        policy.check_url("http://localhost:1/")


def test_an_unresolvable_name_is_refused() -> None:
    with pytest.raises(TargetBlockedError, match="could not be resolved"):
        LOOPBACK_ONLY.check_url("http://no-such-host.invalid/")
