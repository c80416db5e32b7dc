"""Schemathesis, stateful and with two tenants' tokens, against the generated OpenAPI document
through the local adapter (a process, real Redis): 0 responses 5xx, 0 schema violations.

The document is the one Powertools generates from the handlers' models (never hand-written). The two
tenants come from a Web Fuzzing Commons auth file, which also lets schemathesis's
object_level_authorization check try each tenant's jobs with the other's token. Generated session
URLs are pointed at an allowed loopback target (tests/support/schemathesis_hooks.py) so that jobs are
really created and the stateful phase follows them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import api_handler
from tests.support.api_process import TOKENS, ApiProcess
from tests.support.redis_server import RedisServer
from traffic_tool.local.worker_launcher import loopback_worker

pytestmark = [pytest.mark.timeout(420)]

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "object_level_authorization",
        "ignored_auth",
    )
)
# Not use_after_free: DELETE /jobs/{id} cancels a job, it does not delete it; the job stays readable
# (status `cancelled`), as the README's contract says.
MAX_TIME_S = 150
MAX_EXAMPLES = 40


def test_schemathesis_stateful_two_tenants(own_redis: RedisServer, tmp_path: Path) -> None:
    doc = json.loads(api_handler.app.get_openapi_json_schema(title="traffic-tool job API"))
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(doc))
    auth = tmp_path / "tenants.wfc.json"
    auth.write_text(json.dumps({"auth": [
        {"name": tenant, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for tenant, token in TOKENS.items()
    ]}))  # fmt: skip
    config = tmp_path / "schemathesis.toml"  # the two tenants are peers: neither may see the other's jobs
    peers = ", ".join(f'"{tenant}"' for tenant in TOKENS)
    config.write_text(f'[auth.wfc]\npath = "{auth}"\npeers = [{peers}]\n')
    report = tmp_path / "junit.xml"
    api = ApiProcess(own_redis.url).start()
    # a live worker: without one, queued work makes /health rightly answer 503 (the sessions it runs
    # target a closed loopback port and fail fast)
    worker = loopback_worker(own_redis.url, tmp_path / "worker.log", lease_s=10)
    try:
        worker.wait_log("serving", timeout=60)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(schema),
             "--url", api.url, "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful",
             "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_TIME_S), "--workers", "1",
             "--request-timeout", "20", "--seed", "6", "--no-color", "--report", "junit",
             "--report-junit-path", str(report)],
            capture_output=True, text=True, timeout=MAX_TIME_S + 120, check=False,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks"},
        )  # fmt: skip
    finally:
        worker.stop()
        api.stop()
    tail = run.stdout[-6000:]
    print(f"\nschemathesis exit {run.returncode}:\n{tail}\n{run.stderr[-2000:]}")
    assert run.returncode == 0, tail
    # the stateful phase chained operations: jobs were created and then read or cancelled
    assert "API Links:    0 covered" not in run.stdout, tail
    assert "object_level_authorization` will not run" not in run.stdout, tail
