"""The disaster-recovery drill, as `make drill` runs it (about 30 s): the Redis primary
SIGKILLed while jobs are submitted loses none of the accepted sessions and the stack serves again; a
re-created stack reads every finished job back from the archive."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.cfn_yaml import PROJECT_ROOT


def test_the_drill_loses_nothing_and_recovers() -> None:
    run = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "dr_drill.py")],
        capture_output=True, text=True, timeout=900, check=False, cwd=PROJECT_ROOT,
    )  # fmt: skip
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    lost = re.search(r"RPO: sessions lost\s+(\d+)", run.stdout)
    accepted = re.search(r"accepted jobs / sessions\s+(\d+) / (\d+)", run.stdout)
    assert lost is not None and accepted is not None
    assert int(lost.group(1)) == 0 and int(accepted.group(2)) > 0
    readable = re.search(r"finished jobs readable\s+(\d+) / (\d+)", run.stdout)
    assert readable is not None and readable.group(1) == readable.group(2) != "0"
