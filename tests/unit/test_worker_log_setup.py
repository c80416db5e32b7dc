"""The worker's logs: Powertools JSON, the served job's id as correlation id per concurrent session,
secrets masked (URL passwords, bearer tokens, known values) in messages, arguments and extras."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from worker.log_setup import SERVICE, bind_job, configure_logging


@pytest.fixture
def worker_log() -> Iterator[io.StringIO]:
    saved = {}
    for name in ("worker", "jobcore"):
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.propagate, logger.level)
    stream = io.StringIO()
    configure_logging(stream)
    yield stream
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)
    # Powertools configures a Logger name once per process; forget it so the next test starts afresh
    source = logging.getLogger(SERVICE)
    source.handlers = []
    for attribute in ("init", "powertools_handler", "powertools_buffer_config"):
        vars(source).pop(attribute, None)


def test_concurrent_sessions_log_their_own_job_id_as_correlation_id(worker_log: io.StringIO) -> None:
    log = logging.getLogger("worker.loop")

    async def session(job_id: str) -> None:
        bind_job(job_id)
        await asyncio.sleep(0.01)
        log.info("session %s ran", job_id)
        await asyncio.to_thread(log.info, "written from a thread")

    async def main() -> None:
        await asyncio.gather(session("job-a"), session("job-b"))
        log.info("between sessions")

    asyncio.run(main())
    lines = [json.loads(line) for line in worker_log.getvalue().splitlines()]
    by_message = [(line["message"], line.get("correlation_id")) for line in lines]
    assert ("session job-a ran", "job-a") in by_message and ("session job-b ran", "job-b") in by_message
    assert sorted(c for m, c in by_message if m == "written from a thread") == ["job-a", "job-b"]
    assert ("between sessions", None) in by_message
    assert all(line["level"] == "INFO" and line["service"] for line in lines)


def test_secrets_never_reach_the_log(worker_log: io.StringIO) -> None:
    log = logging.getLogger("jobcore.queue")
    log.warning("proxy http://user:hunter2@127.0.0.1:3128 refused", extra={"auth": "Bearer abc.def"})
    log.warning("retrying %s", "http://u:s3cr3t@example.test/")
    text = worker_log.getvalue()
    assert "hunter2" not in text and "s3cr3t" not in text and "abc.def" not in text
    assert text.count("***") == 3
