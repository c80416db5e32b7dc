"""One scaler run: read the fleet's load from Redis, apply the policy, set the capacity, remember.

The scaler Lambda (every minute) and the local stack call this with their own backend.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict

import redis

from jobcore import keys
from jobcore.capacity import CapacityBackend
from jobcore.errors import ScalerBusyError
from jobcore.redis_conn import store_errors
from jobcore.scaling import Decision, FleetLoad, ScalerState, ScalingPolicy, decide
from jobcore.worker_registry import Beat, parse_workers

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def read_load(client: redis.Redis, default_capacity: int) -> tuple[FleetLoad, int]:
    """(load, live workers) from one pipelined round trip."""
    with store_errors():
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(keys.STATS)
        pipe.hgetall(keys.WORKERS)
        stats, workers_raw = pipe.execute()
    workers = parse_workers(workers_raw, time.time())
    capacities = [int(w.get(Beat.CAPACITY, 0)) for w in workers.values() if int(w.get(Beat.CAPACITY, 0)) > 0]
    # A task's capacity is what live workers announce; with none alive, what the settings say.
    capacity = round(sum(capacities) / len(capacities)) if capacities else default_capacity
    backlog = max(0, int(stats.get(keys.STATS_BACKLOG, 0)))
    running = max(0, int(stats.get(keys.STATS_RUNNING, 0)))
    return FleetLoad(backlog=backlog, running=running, task_capacity=capacity), len(workers)


def load_state(client: redis.Redis) -> ScalerState:
    raw: dict[str, str] = client.hgetall(keys.SCALER_STATE)  # type: ignore[assignment]
    return ScalerState(
        idle_periods=int(raw.get("idle_periods", 0)),
        last_out_at=float(raw.get("last_out_at", 0)),
        last_in_at=float(raw.get("last_in_at", 0)),
    )


def run_scaler(
    client: redis.Redis,
    backend: CapacityBackend,
    policy: ScalingPolicy,
    default_capacity: int,
    now: float | None = None,
) -> tuple[Decision, FleetLoad, int]:
    """Decide and apply once. A lock keeps two overlapping runs from both counting an idle period."""
    now = time.time() if now is None else now
    token = secrets.token_hex(8)
    with store_errors():
        if not client.set(keys.SCALER_LOCK, token, nx=True, ex=50):
            raise ScalerBusyError("another scaler run holds the lock")
    try:
        load, workers = read_load(client, default_capacity)
        with store_errors():
            state = load_state(client)
        decision = decide(backend.current(), load, state, policy, now)
        if decision.changed:
            backend.set_desired(decision.desired)
        with store_errors():
            client.hset(keys.SCALER_STATE, mapping={k: str(v) for k, v in asdict(decision.state).items()})
        return decision, load, workers
    finally:
        with store_errors():  # only our own lock: a run past the lock's expiry must not free another's
            client.eval(_RELEASE, 1, keys.SCALER_LOCK, token)
