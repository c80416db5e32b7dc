"""The local stack's `/metrics`: the fleet snapshot in the Prometheus text exposition format (0.0.4),
for users who run outside AWS. Names derive from jobcore.metric_names: `traffic_tool_` + snake case."""

from __future__ import annotations

import re
from collections.abc import Iterator

from jobcore import metric_names
from jobcore.errors import StoreUnavailableError
from jobcore.redis_conn import connect_probe
from jobcore.settings import Settings
from traffic_tool.fleet_snapshot import FleetSnapshot, read_snapshot
from traffic_tool.local.adapter import MetricsSource

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "traffic_tool_"


def prometheus_name(metric: str, suffix: str = "") -> str:
    return PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", metric).lower() + suffix


def _label(key: str, value: str) -> str:
    escaped = value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")
    return f'{{{key}="{escaped}"}}'


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, str, float]]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    for sample_name, labels, value in samples:
        yield f"{sample_name}{labels} {value:g}"


def render(snap: FleetSnapshot) -> str:
    h, t = snap.health, snap.totals
    lines: list[str] = []

    def gauge(metric: str, help_text: str, value: float, suffix: str = "") -> None:
        name = prometheus_name(metric, suffix)
        lines.extend(_family(name, "gauge", help_text, [(name, "", value)]))

    def counter(
        metric: str, help_text: str, label_key: str | None = None, labels: tuple[str, ...] = ()
    ) -> None:
        name = prometheus_name(metric)
        if label_key is None:
            samples = [(f"{name}_total", "", t.get(metric))]
        else:
            found = t.labelled(metric)
            samples = [
                (f"{name}_total", _label(label_key, v), found.get(v, 0.0)) for v in sorted({*labels, *found})
            ]
        lines.extend(_family(name, "counter", help_text, samples))

    gauge(metric_names.ACTIVE_SESSIONS, "Sessions being run across the fleet.", h.running_sessions)
    gauge(metric_names.CAPACITY, "Concurrent sessions the live workers announce.", h.capacity)
    gauge(metric_names.WORKER_COUNT, "Workers with a fresh heartbeat.", h.workers)
    if snap.desired_workers is not None:
        gauge(metric_names.DESIRED_WORKERS, "The scaler's last desired worker count.", snap.desired_workers)
    gauge(metric_names.FLEET_HEALTHY, "1 when GET /health answers 200.", 1 if h.status == "ok" else 0)
    name = prometheus_name(metric_names.QUEUE_DEPTH)
    by_priority = h.queue_depth_by_priority.model_dump()
    lines.extend(
        _family(
            name,
            "gauge",
            "Sessions waiting to be claimed, per priority.",
            [(name, _label("priority", p), float(v)) for p, v in by_priority.items()],
        )
    )
    gauge(
        metric_names.OLDEST_QUEUED_AGE,
        "Age of the oldest unclaimed session.",
        h.oldest_queued_age_s,
        "_seconds",
    )
    gauge(metric_names.SESSIONS_DEAD_LETTERED, "Sessions in the dead-letter stream.", h.dead_letters)
    counter(metric_names.SESSIONS_OK, "Sessions that ended ok.")
    counter(metric_names.SESSIONS_FAILED, "Sessions that failed, by error type.", "error_type", ())
    counter(metric_names.ZOMBIES_REAPED, "Orphaned Chrome processes killed by the workers.")
    counter(
        metric_names.API_REQUESTS,
        "API requests answered, by status class.",
        "status_class",
        ("2xx", "4xx", "5xx"),
    )
    name = prometheus_name(metric_names.BYTES_PER_SESSION)
    ended = t.get(metric_names.SESSIONS_OK) + t.get(metric_names.SESSIONS_FAILED)
    lines.extend(
        _family(
            name,
            "summary",
            "Bytes a session transferred.",
            [(f"{name}_sum", "", t.get(metric_names.BYTES_PER_SESSION)), (f"{name}_count", "", ended)],
        )
    )
    for metric, attribute, help_text in (
        (metric_names.SESSION_DURATION, "duration_ms", "p95 session duration over the last sessions."),
        (metric_names.QUEUE_WAIT, "queue_wait_ms", "p95 queue wait over the last sessions."),
    ):
        p95 = snap.p95(attribute)
        if p95 is not None:
            gauge(metric, help_text, p95 / 1000, "_p95_seconds")
    return "\n".join(lines) + "\n"


def prometheus_source(redis_url: str) -> MetricsSource:
    """/metrics: the fleet snapshot read from Redis on every scrape; 503 while Redis is unreachable."""
    client = connect_probe(Settings(redis_url=redis_url))

    def scrape() -> tuple[int, str, bytes]:
        try:
            return 200, CONTENT_TYPE, render(read_snapshot(client)).encode()
        except StoreUnavailableError as exc:
            return 503, "text/plain; charset=utf-8", f"{exc}\n".encode()

    return scrape
