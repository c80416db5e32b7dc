"""The disaster-recovery drill against the local stack (`make drill`, scripts/dr_drill.py).

failover: the local stack runs with a Redis replica and an endpoint proxy standing in for
  ElastiCache's primary endpoint. While a client submits jobs, the primary is killed (SIGKILL); the
  drill promotes the replica, moves the endpoint and starts a replacement replica, as a Multi-AZ
  failover does. RPO: sessions of accepted (202) jobs missing afterwards. RTO: seconds from the kill
  until a submit is accepted again, and until a session submitted after the kill is claimed.
  Then every job is archived and the bucket exported: it is what a retained bucket keeps.
recreate: a fresh stack (new Redis, new bucket), the exported archive copied into its bucket (on AWS:
  `aws s3 sync s3://OLD s3://NEW`), and every finished job read back through the API.

Each phase runs in its own process (`python -m traffic_tool.local.dr_drill PHASE DIR`): a re-created
stack shares nothing with the old one, not even module caches. Each prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import redis

from jobcore.settings import settings_env
from traffic_tool.client import ApiClient, ApiClientError
from traffic_tool.local.endpoint_proxy import EndpointProxy
from traffic_tool.local.redis_process import RedisServer, free_port
from traffic_tool.local.sample_site import SampleSite
from traffic_tool.local.stack import LocalStack
from traffic_tool.local.stack_config import StackConfig
from traffic_tool.paths import project_root

TENANT, TOKEN = "drill", "drill-token"
SESSIONS_PER_JOB = 2
FINISHED = {"completed", "cancelled"}


@dataclass
class Submitted:
    job_id: str
    sessions: int
    at: float  # wall clock, when the request was sent
    answered: float  # and when its 202 came back


@dataclass
class Submitter:
    """Submits a small job every `interval_s` until stopped; records what was accepted and refused."""

    client: ApiClient
    body: dict[str, Any]
    interval_s: float = 0.1
    accepted: list[Submitted] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            sent = time.time()
            try:
                reply = self.client.submit(self.body)
                self.accepted.append(Submitted(reply.job_id, reply.sessions, sent, time.time()))
            except ApiClientError:
                self.refused.append(sent)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()


def wait_for(check: Any, timeout_s: float, every_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (redis.RedisError, ApiClientError):
            pass
        time.sleep(every_s)
    return False


def replicate(node: RedisServer, primary_port: int) -> None:
    # A primary waits 5 s (repl-diskless-sync-delay) for more replicas before a full sync; one replica
    # at a time here, so it need not.
    primary = redis.Redis(port=primary_port)
    primary.config_set("repl-diskless-sync-delay", 0)
    primary.close()
    client = redis.Redis(port=node.port)
    client.replicaof("127.0.0.1", primary_port)
    ok = wait_for(lambda: client.info("replication").get("master_link_status") == "up", 30)
    client.close()
    if not ok:
        raise RuntimeError(f"the replica on {node.port} did not sync with {primary_port}")


def failover(
    work: Path, warmup_s: float = 4.0, after_s: float = 6.0, finish_timeout_s: float = 240.0
) -> dict[str, Any]:
    site = SampleSite().start()
    primary_port = free_port()
    endpoint = EndpointProxy(primary_port).start()
    config = StackConfig(
        project_root=project_root(), state_dir=work / "stack-a", port=free_port(), tokens=f"{TENANT}={TOKEN}",
        allow_targets=f"127.0.0.1:{site.port}",
        min_workers=2, max_workers=2, speed=10.0, redis_port=primary_port,
        extra_env=settings_env(redis_url=endpoint.url, archive_age_s=0),
    )  # fmt: skip
    stack = LocalStack(config, say=lambda line: None)
    replica = RedisServer(data_dir=work / "replica")
    replacement = RedisServer(data_dir=work / "replacement")
    body = {"sessions": [{"url": site.url("/light.html"), "timeout_s": 20}] * SESSIONS_PER_JOB}
    try:
        stack.start()
        replica.start()
        replicate(replica, primary_port)
        with ApiClient(stack.api_url, TOKEN, timeout_s=10) as client:
            submitter = Submitter(client, body)
            thread = threading.Thread(target=submitter.run, daemon=True)
            thread.start()
            time.sleep(warmup_s)
            # ---- the primary is lost -------------------------------------------------------------
            assert stack.redis is not None and stack.redis.proc is not None
            killed_at = time.time()
            stack.redis.proc.kill()
            stack.redis.proc.wait()
            # ---- failover: promote the replica, move the endpoint, replace the lost node -----------
            promoted = redis.Redis(port=replica.port)
            promoted.replicaof("NO", "ONE")
            promoted.close()
            endpoint.switch(replica.port)
            promoted_at = time.time()
            replacement.start()
            replicate(replacement, replica.port)
            replaced_at = time.time()
            time.sleep(after_s)
            submitter.stop()
            thread.join(timeout=30)
            # ---- what survived -------------------------------------------------------------------
            views: dict[str, Any] = {}

            def all_finished() -> bool:
                for s in submitter.accepted:
                    if s.job_id not in views or views[s.job_id].status not in FINISHED:
                        try:
                            views[s.job_id] = client.get(s.job_id)
                        except ApiClientError:
                            views.pop(s.job_id, None)
                return all(
                    s.job_id in views and views[s.job_id].status in FINISHED for s in submitter.accepted
                )

            wait_for(all_finished, finish_timeout_s, every_s=1.0)
            accepted_sessions = sum(s.sessions for s in submitter.accepted)
            lost = sum(s.sessions - len(views[s.job_id].sessions) if s.job_id in views else s.sessions
                       for s in submitter.accepted)  # fmt: skip
            unfinished = sum(
                1 for s in submitter.accepted for r in (views[s.job_id].sessions if s.job_id in views else [])
                if r.status in ("queued", "running")
            )  # fmt: skip
            failed = sum(
                1 for v in views.values() for r in v.sessions if r.status not in ("ok", "queued", "running")
            )
            after = [s for s in submitter.accepted if s.at >= killed_at]
            first_submit = min((s.answered for s in after), default=None)
            # a claim after the loss: the first job (queued before or after it) whose first session a
            # worker started after the kill
            starts = [v.started_at.timestamp() for v in views.values() if v.started_at is not None]
            starts = [at for at in starts if at >= killed_at]
            first_claim = min(starts, default=None)
            # ---- archive everything, export the bucket (the retained bucket of the re-created stack) --
            assert stack.scheduler is not None and stack.aws is not None
            archived = stack.scheduler.run_now("ArchiverFunction") or {}
            exported = export_bucket(stack.aws.endpoint, stack.aws.bucket, work / "bucket")
            finished_ids = [
                s.job_id
                for s in submitter.accepted
                if s.job_id in views and views[s.job_id].status in FINISHED
            ]
            (work / "jobs.json").write_text(json.dumps(finished_ids))
        return {
            "accepted_jobs": len(submitter.accepted),
            "accepted_sessions": accepted_sessions,
            "sessions_lost": lost,
            "sessions_unfinished": unfinished,
            "sessions_failed": failed,
            "submits_refused": len(submitter.refused),
            "promoted_after_s": round(promoted_at - killed_at, 3),
            "replica_replaced_after_s": round(replaced_at - killed_at, 3),
            "rto_submit_s": None if first_submit is None else round(first_submit - killed_at, 3),
            "rto_claim_s": None if first_claim is None else round(first_claim - killed_at, 3),
            "archived": archived,
            "objects_exported": exported,
        }
    finally:
        stack.stop()
        for node in (replica, replacement):
            node.stop()
        endpoint.stop()
        site.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106
    )  # fmt: skip


def export_bucket(endpoint: str, bucket: str, to: Path) -> int:
    s3, count = _s3(endpoint), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            target = to / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            count += 1
    return count


def import_bucket(endpoint: str, bucket: str, source: Path) -> int:
    s3, count = _s3(endpoint), 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        s3.put_object(Bucket=bucket, Key=path.relative_to(source).as_posix(), Body=path.read_bytes())
        count += 1
    return count


def recreate(work: Path, started: float, timeout_s: float = 60.0) -> dict[str, Any]:
    """The stack deleted (its Redis and bucket gone) and created anew; the retained archive copied in."""
    job_ids: list[str] = json.loads((work / "jobs.json").read_text())
    site = SampleSite().start()
    config = StackConfig(
        project_root=project_root(), state_dir=work / "stack-b", port=free_port(), tokens=f"{TENANT}={TOKEN}",
        allow_targets=f"127.0.0.1:{site.port}", min_workers=1, max_workers=1, speed=10.0,
    )  # fmt: skip
    stack = LocalStack(config, say=lambda line: None)
    try:
        stack.start()
        assert stack.aws is not None
        copied = import_bucket(stack.aws.endpoint, stack.aws.bucket, work / "bucket")
        readable: set[str] = set()
        with ApiClient(stack.api_url, TOKEN, timeout_s=10) as client:

            def all_readable() -> bool:
                for job_id in job_ids:
                    if job_id not in readable:
                        with_sessions = client.get(job_id)
                        if with_sessions.status in FINISHED and with_sessions.sessions:
                            readable.add(job_id)
                return len(readable) == len(job_ids)

            wait_for(all_readable, timeout_s, every_s=0.2)
            ready_at = time.time()
            # and the new stack takes work
            accepted = client.submit({"sessions": [{"url": site.url("/light.html"), "timeout_s": 5}]})
        return {
            "finished_jobs": len(job_ids),
            "readable_jobs": len(readable),
            "objects_copied": copied,
            "rto_readable_s": round(ready_at - started, 3),
            "new_stack_accepts": bool(accepted.job_id),
        }
    finally:
        stack.stop()
        site.stop()


def main(argv: list[str]) -> int:
    started = time.time()
    phase, work = argv[1], Path(argv[2])
    result = failover(work) if phase == "failover" else recreate(work, started)
    print(json.dumps({"phase": phase, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
