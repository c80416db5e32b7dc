"""How long a hostile page holds a worker's slot (`make bench-guards`): figures the e2e tests do not time.

Prints figures, asserts nothing. One real worker (`traffic-tool worker`, the loopback settings the tests
use) claims sessions from a real redis-server; the pages are the tests' fixture pages (read as files),
served on loopback. For each page, `--runs` sessions with `timeout_s` 2: the verdict, and the
seconds from the claim to the result against the timeout plus the session grace (what a slot may cost).
The tests assert the verdicts (tests/e2e/test_worker_pages.py); how close to the deadline they land
depends on the machine's load, so it is measured here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("layers/core", "worker", "cli"):
    sys.path.insert(0, str(ROOT / sub))

from jobcore.models import JobRequest, SessionSpec  # noqa: E402
from jobcore.queue import JobQueue  # noqa: E402
from jobcore.redis_conn import connect  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from jobcore.store import JobStore  # noqa: E402
from traffic_tool.local.redis_process import RedisServer  # noqa: E402
from traffic_tool.local.sample_site import SAMPLE_PAGES, SampleSite  # noqa: E402
from traffic_tool.local.worker_launcher import LOOPBACK_SETTINGS, loopback_worker  # noqa: E402

FIXTURE_PAGES = ROOT / "tests" / "fixtures" / "pages"
PAGES = ("loop.html", "alerts.html", "popups.html", "light.html")
TIMEOUT_S = 2
MAX_WAIT_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="sessions per page (≤ 50)")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 50))
    redis_server = RedisServer().start()
    site = SampleSite(pages=(FIXTURE_PAGES, SAMPLE_PAGES)).start()
    settings = Settings(redis_url=redis_server.url)
    client = connect(settings)
    queue, store = JobQueue(client, settings), JobStore(client)
    logs = Path(tempfile.mkdtemp(prefix="bench-guards-"))
    worker = loopback_worker(redis_server.url, logs / "worker.log", sessions_per_worker=1)
    grace = float(str(LOOPBACK_SETTINGS["session_grace_s"]))
    try:
        worker.wait_log("serving", timeout=60)
        for page in PAGES:
            spec = SessionSpec.model_validate({"url": site.url(f"/{page}"), "timeout_s": TIMEOUT_S})
            held: list[float] = []
            verdicts: Counter[str] = Counter()
            for _ in range(runs):
                job = queue.enqueue("bench", JobRequest(sessions=[spec]))
                deadline = time.monotonic() + MAX_WAIT_S
                while (view := store.get("bench", job)).status != "completed":
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{page}: no result in {MAX_WAIT_S:.0f} s")
                    time.sleep(0.05)
                [result] = view.sessions
                verdicts[result.error.type.value if result.error else "ok"] += 1
                held.append((result.timings_ms.total or 0) / 1000)
            print(
                f"{page}: {dict(verdicts)}; slot held {statistics.median(held):.2f} s median, "
                f"{max(held):.2f} s max (timeout {TIMEOUT_S} s, + grace {grace:g} s = "
                f"{TIMEOUT_S + grace:g} s)"
            )
    finally:
        worker.stop()
        site.stop()
        client.close()
        redis_server.cleanup()


if __name__ == "__main__":
    main()
