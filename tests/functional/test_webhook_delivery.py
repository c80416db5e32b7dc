"""The delivery queue and its sender, against a real Redis and a loopback receiver.

The clock of the retries is driven (`drain(now=…)`) so 24 hours of backoff take milliseconds;
every request still really goes over a socket to the receiver, which checks the signature.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import time
from collections.abc import Iterator

import pytest
import redis
import trustme

from jobcore import keys, limits
from jobcore.check_models import WebhookEvent, WebhookRequest
from jobcore.check_plane import CheckPlane, build
from jobcore.errors import TargetBlockedError
from jobcore.jobs import JobService
from jobcore.settings import Settings
from jobcore.urlguard import EgressPolicy, IPAddress
from jobcore.webhook_sender import WebhookSender
from tests.support.webhook_receiver import WebhookReceiver

TENANT = "tenant-a"


class Dns:
    """A resolver the test controls: the name's answer can change between creation and delivery."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[IPAddress]:
        self.asked.append(host)
        if host not in self.answers:
            raise TargetBlockedError(host, f"host {host!r} could not be resolved")
        return [ipaddress.ip_address(self.answers[host])]


@pytest.fixture
def dns() -> Dns:
    return Dns()


@pytest.fixture
def plane(r: redis.Redis, settings: Settings, dns: Dns) -> CheckPlane:
    policy = EgressPolicy(allowed=settings.allow_rules, resolver=dns)
    fast = settings.model_copy(update={"webhook_timeout_s": 0.3})
    return build(r, fast, jobs=JobService(r, fast, policy=policy))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


def record(r: redis.Redis, delivery_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(str(r.get(keys.delivery(delivery_id))))
    return data


def test_a_receiver_failing_three_times_gets_the_fourth_try_after_growing_backoff(
    plane: CheckPlane, receiver: WebhookReceiver, r: redis.Redis
) -> None:
    receiver.script = ["500", "500", "500", "200"]
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=receiver.url()))
    receiver.secret = hook.secret
    now = time.time()
    delivery_id = plane.webhooks.enqueue(TENANT, hook.webhook_id, WebhookEvent.TEST, {"n": 1}, now=now)
    waits = []
    for attempt in range(1, 5):
        report = plane.sender.drain(now=now)
        assert len(receiver.received) == attempt
        if attempt < 4:
            assert report == {"delivered": 0, "retrying": 1, "dead": 0}
            due = float(record(r, delivery_id)["next_attempt_at"])  # type: ignore[arg-type]
            waits.append(due - now)
            assert plane.sender.drain(now=due - 1) == {"delivered": 0, "retrying": 0, "dead": 0}  # not yet
            now = due
    assert report == {"delivered": 1, "retrying": 0, "dead": 0}
    base = limits.WEBHOOK_BACKOFF_BASE_S
    for n, wait in enumerate(waits):  # exponential with jitter: within [step/2, step], step doubling
        assert base * 2**n / 2 <= wait <= base * 2**n
    assert all(got.signature_ok for got in receiver.received)
    assert {got.headers["TrafficTool-Delivery"] for got in receiver.received} == {delivery_id}
    [listed] = plane.webhooks.deliveries(TENANT, hook.webhook_id).deliveries
    assert (listed.status, listed.attempts, listed.last_status) == ("delivered", 4, 200)


def test_a_receiver_that_never_answers_is_dead_lettered_listed_and_nothing_is_lost(
    plane: CheckPlane, receiver: WebhookReceiver
) -> None:
    receiver.script = ["hang"] * 10
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=receiver.url()))
    receiver.secret = hook.secret
    # queuing (what the API does on POST /webhooks/{id}/test) makes no request at all
    queued = plane.webhooks.test(TENANT, hook.webhook_id)
    assert queued.status == "pending" and receiver.received == []
    start = time.time()
    assert plane.sender.drain(now=start)["retrying"] == 1
    [pending] = plane.webhooks.deliveries(TENANT, hook.webhook_id).deliveries
    assert pending.status == "pending" and pending.last_error == "no answer within 0.3 s"
    assert plane.sender.drain(now=start + limits.WEBHOOK_RETRY_WINDOW_S)["dead"] == 1
    [dead] = plane.webhooks.deliveries(TENANT, hook.webhook_id, status="dead").deliveries
    assert dead.delivery_id == queued.delivery_id and dead.attempts == 2
    assert dead.payload["event"] == "webhook.test" and dead.payload["webhook_id"] == hook.webhook_id
    assert plane.sender.drain(now=start + 2 * limits.WEBHOOK_RETRY_WINDOW_S)["dead"] == 0  # never again
    assert len(receiver.received) == 2


def test_the_sender_connects_to_the_address_it_checked(
    plane: CheckPlane, receiver: WebhookReceiver, dns: Dns
) -> None:
    dns.answers["hooks.example.test"] = "127.0.0.1"
    url = f"http://hooks.example.test:{receiver.port}/hook"
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=url))
    receiver.secret = hook.secret
    plane.webhooks.test(TENANT, hook.webhook_id)
    dns.asked.clear()
    assert plane.sender.drain()["delivered"] == 1
    assert dns.asked == ["hooks.example.test"]  # one lookup, by the guard; the name resolves nowhere else
    [got] = receiver.received
    assert got.headers["Host"] == f"hooks.example.test:{receiver.port}" and got.signature_ok


def test_https_connects_to_the_checked_address_and_still_verifies_the_name(
    r: redis.Redis, settings: Settings, dns: Dns
) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example.test").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    receiver = WebhookReceiver(tls=server_tls)
    try:
        dns.answers["hooks.example.test"] = "127.0.0.1"
        dns.answers["other.example.test"] = "127.0.0.1"
        policy = EgressPolicy(allowed=settings.allow_rules, resolver=dns)
        plane = build(r, settings, jobs=JobService(r, settings, policy=policy))
        sender = WebhookSender(r, policy, timeout_s=2, verify=client_tls)
        good = plane.webhooks.create(
            TENANT, WebhookRequest(url=f"https://hooks.example.test:{receiver.port}/")
        )
        receiver.secret = good.secret
        plane.webhooks.test(TENANT, good.webhook_id)
        assert sender.drain()["delivered"] == 1
        assert receiver.received[0].signature_ok
        # a certificate for another name is refused, although the address is the same
        wrong = plane.webhooks.create(
            TENANT, WebhookRequest(url=f"https://other.example.test:{receiver.port}/")
        )
        plane.webhooks.test(TENANT, wrong.webhook_id)
        assert sender.drain()["retrying"] == 1
        [listed] = plane.webhooks.deliveries(TENANT, wrong.webhook_id).deliveries
        assert listed.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in listed.last_error
        assert len(receiver.received) == 1
    finally:
        receiver.close()


@pytest.mark.parametrize("rebound", ["127.0.0.2", "169.254.169.254", "10.0.0.7"])
def test_a_name_that_turns_private_after_creation_is_refused_at_delivery_with_no_request(
    plane: CheckPlane, receiver: WebhookReceiver, dns: Dns, rebound: str
) -> None:
    dns.answers["hooks.example.test"] = "127.0.0.1"
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=f"http://hooks.example.test:{receiver.port}/"))
    plane.webhooks.test(TENANT, hook.webhook_id)
    dns.answers["hooks.example.test"] = rebound
    assert plane.sender.drain()["retrying"] == 1
    [listed] = plane.webhooks.deliveries(TENANT, hook.webhook_id).deliveries
    assert listed.last_error is not None and listed.last_error.startswith("refused by the egress guard")
    assert rebound in listed.last_error
    assert receiver.received == []


def test_a_deleted_webhook_s_deliveries_are_dead_lettered(
    plane: CheckPlane, receiver: WebhookReceiver
) -> None:
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=receiver.url()))
    delivery = plane.webhooks.test(TENANT, hook.webhook_id)
    plane.webhooks.delete(TENANT, hook.webhook_id)
    assert plane.sender.drain()["dead"] == 1
    assert receiver.received == [] and delivery.delivery_id
