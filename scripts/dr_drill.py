"""`make drill`: the disaster-recovery drill on the local stack; prints RPO and RTO.

(a) Redis primary lost: SIGKILL while jobs are being submitted; the replica the drill started is
    promoted and the endpoint moved (traffic_tool.local.dr_drill.failover).
(b) Stack re-created: a new stack, the retained archive bucket copied in, every finished job read back
    (traffic_tool.local.dr_drill.recreate).
Exit status 0 only when no accepted session was lost, every one finished, and every finished job is
readable from the re-created stack.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def phase(name: str, work: Path, timeout_s: float) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "traffic_tool.local.dr_drill", name, str(work)],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith('{"phase"')]
    if run.returncode != 0 or not lines:
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"drill phase {name} failed (exit {run.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep the drill's state directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="traffic-tool-drill-"))
    try:
        print("drill (a): Redis primary lost while jobs are submitted ...", flush=True)
        a = phase("failover", work, timeout_s=600)
        print("drill (b): stack re-created from the template and the archive bucket ...", flush=True)
        b = phase("recreate", work, timeout_s=300)
    finally:
        if args.keep:
            print(f"state kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("(a) Redis primary lost (SIGKILL), replica promoted, endpoint moved, replacement replica synced")
    print(f"    accepted jobs / sessions         {a['accepted_jobs']} / {a['accepted_sessions']}")
    print(f"    submits refused around the loss  {a['submits_refused']}")
    print(f"    RPO: sessions lost               {a['sessions_lost']}")
    print(
        f"    sessions not finished            {a['sessions_unfinished']}  (failed: {a['sessions_failed']})"
    )
    print(
        f"    promotion / replacement done     {a['promoted_after_s']} s / {a['replica_replaced_after_s']} s"
    )
    print(f"    RTO: submits accepted again      {a['rto_submit_s']} s")
    print(f"    RTO: claims work again           {a['rto_claim_s']} s")
    print("(b) stack re-created, archive bucket copied in")
    readable = f"{b['readable_jobs']} / {b['finished_jobs']}  ({b['objects_copied']} objects)"
    print(f"    finished jobs readable           {readable}")
    print(f"    RTO: all readable                {b['rto_readable_s']} s (from the new stack's start)")
    ok = (
        a["sessions_lost"] == 0
        and a["sessions_unfinished"] == 0
        and a["rto_submit_s"] is not None
        and a["rto_claim_s"] is not None
        and b["readable_jobs"] == b["finished_jobs"] > 0
    )
    print("drill passed" if ok else "drill FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
