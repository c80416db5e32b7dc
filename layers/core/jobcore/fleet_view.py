"""GET /fleet: what `traffic-tool top` shows, from one pipelined read. The figures are /health's
(JobStore.health_from) and the running totals' (fleet_totals.totals_from), computed by the same
functions; this module adds the per-tenant load and each live worker's heartbeat."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis

from jobcore import keys, metric_names
from jobcore.fleet_totals import TOTALS_READS, WINDOW_MINUTES, queue_totals_reads, totals_from
from jobcore.operator_models import FleetView, TenantLoad, WorkerView
from jobcore.redis_conn import store_errors
from jobcore.store import HEALTH_READS, JobStore, health_from
from jobcore.worker_registry import Beat, parse_workers


def read_fleet(client: redis.Redis) -> FleetView:
    with store_errors():
        pipe = client.pipeline(transaction=False)
        JobStore(client).queue_health_reads(pipe)
        queue_totals_reads(pipe, time.time())
        pipe.hgetall(keys.TENANT_QUEUED)
        pipe.hgetall(keys.TENANT_RUNNING)
        replies = pipe.execute()
    now = time.time()
    health = health_from(replies)
    totals = totals_from(replies[HEALTH_READS:])
    queued, running = replies[HEALTH_READS + TOTALS_READS :]
    tenants = [
        TenantLoad(tenant=t, queued=max(0, int(queued.get(t, 0))), running=max(0, int(running.get(t, 0))))
        for t in sorted({*queued, *running})
    ]
    workers = [
        WorkerView(
            worker_id=worker_id,
            heartbeat_age_s=round(max(0.0, now - float(beat["at"])), 3) if "at" in beat else None,
            active=int(beat.get(Beat.ACTIVE, 0)),
            capacity=int(beat.get(Beat.CAPACITY, 0)),
        )
        for worker_id, beat in sorted(parse_workers(replies[1], now).items())
    ]
    desired = totals.counters.get(metric_names.DESIRED_WORKERS)
    return FleetView(
        health=health,
        tenants=[t for t in tenants if t.queued or t.running],
        live_workers=workers,
        desired_workers=None if desired is None else int(desired),
        totals=totals.counters,
        last_minutes=totals.last_minutes,
        window_minutes=WINDOW_MINUTES,
        session_duration_p95_ms=totals.p95("duration_ms"),
        queue_wait_p95_ms=totals.p95("queue_wait_ms"),
        bytes_per_session_avg=totals.bytes_per_session(),
        bytes_per_session_p95=totals.p95("bytes_in"),
        recent_sessions=len(totals.recent),
        taken_at=datetime.fromtimestamp(now, UTC),
    )
