"""The webhook sender: drains the delivery queue, signs each body, retries with backoff, dead-letters.

Every attempt goes through the egress guard again (`EgressPolicy.check_url`) and then connects to
the very address the guard checked: the URL's host is swapped for that address, with the Host
header (and, for https, the TLS SNI name and certificate check) kept on the original name. There is
no second DNS lookup between check and connect for a rebinding answer to slip into.
"""

from __future__ import annotations

import json
import random
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis

from jobcore import keys, limits
from jobcore.errors import TargetBlockedError
from jobcore.lua_scripts import load_script
from jobcore.redis_conn import store_errors
from jobcore.urlguard import EgressPolicy
from jobcore.webhook_signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from jobcore.webhooks import DELIVERY_RECORD_TTL_S

USER_AGENT = "traffic-tool-webhooks/0.1"


@dataclass(frozen=True)
class Attempt:
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def backoff_s(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential, capped, with "equal jitter": half the step fixed, half random."""
    step = min(limits.WEBHOOK_BACKOFF_CAP_S, limits.WEBHOOK_BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return float(step / 2 + rng() * step / 2)


def post_pinned(
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: EgressPolicy,
    timeout_s: float,
    verify: ssl.SSLContext | bool = True,
) -> Attempt:
    """POST `body` to `url`, connecting only to an address the guard has just checked (`verify`: the
    trust for https, the system's by default; the certificate must name the URL's host)."""
    try:
        addresses = policy.check_url(url)
    except TargetBlockedError as exc:
        return Attempt(None, f"refused by the egress guard: {exc.reason}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    address = addresses[0]
    pinned_host = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, ""))
    named_host = f"[{host}]" if ":" in host else host
    host_header = named_host if parts.port is None else f"{named_host}:{port}"
    extensions = {"sni_hostname": host} if https else {}
    try:
        with httpx.Client(
            timeout=timeout_s, follow_redirects=False, trust_env=False, verify=verify
        ) as client:
            reply = client.post(
                pinned, content=body, headers={**headers, "Host": host_header}, extensions=extensions
            )
    except httpx.TimeoutException:
        return Attempt(None, f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:300])
    return Attempt(reply.status_code, None if reply.is_success else f"HTTP {reply.status_code}")


class WebhookSender:
    def __init__(
        self,
        client: redis.Redis,
        policy: EgressPolicy,
        timeout_s: float = limits.WEBHOOK_TIMEOUT_S,
        rng: Callable[[], float] = random.random,
        concurrency: int = 8,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.r = client
        self.policy = policy
        self.timeout_s = timeout_s
        self.rng = rng
        self.concurrency = concurrency
        self.verify = verify
        self._claim = client.register_script(load_script("claim_due"))

    def drain(self, now: float | None = None, batch: int = limits.DELIVERY_BATCH) -> dict[str, int]:
        """One pass: every delivery due by `now` is attempted once. Returns counts by outcome."""
        now = time.time() if now is None else now
        lease = self.timeout_s + 30
        with store_errors():
            due = self._claim(keys=[keys.DELIVERIES_DUE], args=[repr(now), repr(lease), batch])
        report = {"delivered": 0, "retrying": 0, "dead": 0}
        if not due:
            return report
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(due))) as pool:
            for outcome in pool.map(lambda d: self._attempt(str(d), now), due):
                if outcome:
                    report[outcome] += 1
        return report

    def _attempt(self, delivery_id: str, now: float) -> str | None:
        with store_errors():
            raw = self.r.get(keys.delivery(delivery_id))
            record: dict[str, Any] | None = json.loads(raw) if raw else None
            hook_raw = self.r.get(keys.webhook(record["webhook_id"])) if record else None
        if record is None or record["status"] != "pending":
            with store_errors():
                self.r.zrem(keys.DELIVERIES_DUE, delivery_id)
            return None
        webhook = json.loads(hook_raw) if hook_raw else None
        if webhook is None or webhook["tenant"] != record["tenant"]:
            attempt = Attempt(None, "the webhook was deleted")
        else:
            body = record["body"].encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(webhook["secret"], int(time.time()), body),
                EVENT_HEADER: record["event"],
                DELIVERY_HEADER: delivery_id,
            }
            attempt = post_pinned(webhook["url"], body, headers, self.policy, self.timeout_s, self.verify)
        return self._record(record, attempt, now, gone=webhook is None)

    def _record(self, record: dict[str, Any], attempt: Attempt, now: float, gone: bool) -> str:
        record.update(attempts=record["attempts"] + 1, last_status=attempt.status, last_error=attempt.error)
        deadline = record["created_at"] + limits.WEBHOOK_RETRY_WINDOW_S
        if attempt.ok:
            record["status"], outcome = "delivered", "delivered"
        elif gone or now >= deadline:
            record["status"], outcome = "dead", "dead"
        else:
            record["next_attempt_at"] = min(deadline, now + backoff_s(record["attempts"], self.rng))
            outcome = "retrying"
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.set(keys.delivery(record["delivery_id"]), json.dumps(record), ex=DELIVERY_RECORD_TTL_S)
            if outcome == "retrying":
                pipe.zadd(keys.DELIVERIES_DUE, {record["delivery_id"]: record["next_attempt_at"]})
            else:
                pipe.zrem(keys.DELIVERIES_DUE, record["delivery_id"])
            pipe.execute()
        return outcome
