"""A poison session (it kills its worker process every time) runs exactly the attempt limit,
is dead-lettered with `worker_died`, and the other sessions of its job complete.

The poison is /poison on tests.support.poison_site: the worker whose browser loads it gets SIGKILL
(as the OOM killer treats a task a page drove past its memory limit). Two workers of one session each,
replaced when they die as ECS would; the reaper's function runs every half second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobcore import keys
from jobcore.constants import DeadLetterReason
from jobcore.errors import StoreUnavailableError
from jobcore.models import JobRequest, SessionSpec
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.poison_site import PoisonSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_fleet import loopback_fleet

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

MAX_ATTEMPTS = 3
LEASE_S = 3


@pytest.fixture
def poison(own_redis: RedisServer) -> Iterator[PoisonSite]:
    server = PoisonSite(own_redis.url).start()
    yield server
    server.stop()


def test_poison_session_is_dead_lettered_after_the_attempt_limit(
    own_redis: RedisServer, site: FixtureSite, poison: PoisonSite, tmp_path: Path
) -> None:
    settings = Settings(redis_url=own_redis.url, lease_s=LEASE_S, max_attempts=MAX_ATTEMPTS)
    r = connect(settings)
    queue, store = JobQueue(r, settings), JobStore(r)
    # heartbeats every 0.2 s: a dead worker leaves the registry (0.6 s) long before its lease ends (3 s)
    fleet = loopback_fleet(
        own_redis.url, tmp_path, 2, sessions_per_worker=1, lease_s=LEASE_S, heartbeat_s=0.2
    )
    stop = threading.Event()

    def reap() -> None:
        while not stop.wait(0.5):
            try:
                queue.recover_stalled()
            except StoreUnavailableError:
                continue

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    specs = [{"url": poison.url()}] + [{"url": site.url(f"/light.html?poisoned-job={i}")} for i in range(5)]
    job = queue.enqueue("acme", JobRequest(sessions=[SessionSpec.model_validate(s) for s in specs]))
    poison.session = (job, 0)
    try:
        wait_until(lambda: store.get("acme", job).status == "completed", 150, what="the job to complete")
    finally:
        stop.set()
        reaper.join(5)
        fleet.shutdown()

    view = store.get("acme", job)
    dead = [f for _, f in r.xrange(keys.DEAD_LETTER) if f["j"] == job]
    print(f"\npoison: loaded {poison.requests} times, workers killed {len(poison.kills)}, "
          f"dead letters {[(f['i'], f['reason'], f['attempts']) for f in dead]}")  # fmt: skip
    assert poison.requests == MAX_ATTEMPTS and len(poison.kills) == MAX_ATTEMPTS
    assert len(set(poison.kills)) == MAX_ATTEMPTS  # a different worker process every time
    assert [(f["i"], f["reason"], f["attempts"]) for f in dead] == [
        ("0", DeadLetterReason.WORKER_DIED.value, str(MAX_ATTEMPTS))
    ]
    poisoned = view.sessions[0]
    assert poisoned.status == "failed" and poisoned.attempts == MAX_ATTEMPTS
    assert poisoned.error is not None and poisoned.error.type == "browser_crash"
    others = view.sessions[1:]
    assert [s.status for s in others] == ["ok"] * 5
    assert all(s.attempts == 1 for s in others)  # no other session shared a worker with the poison
    assert view.progress.ok == 5 and view.progress.failed == 1
