"""The local stack as a process with every log at DEBUG and EMF on (the console stack turns EMF off):
`python -m tests.support.stack_runner --port P --tokens t=k,… --state-dir D [--speed N] [--workers N]`.
Runs until SIGTERM; prints what the stack says, then `ready.`
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from traffic_tool.local.stack import LocalStack
from traffic_tool.local.stack_config import StackConfig

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--allow-targets", default="127.0.0.1/32", help="the tests' sites (stack ports stay refused)"
    )
    args = parser.parse_args()
    verbose = {
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "TRAFFIC_TOOL_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_METRICS_DISABLED": "false",
    }
    config = StackConfig(
        project_root=ROOT, state_dir=args.state_dir, port=args.port, tokens=args.tokens, speed=args.speed,
        min_workers=args.workers, max_workers=args.workers, extra_env=verbose,
        allow_targets=args.allow_targets,
    )  # fmt: skip
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    stack = LocalStack(config, say=lambda line: print(line, flush=True))
    stack.start()
    print("ready.", flush=True)
    try:
        stop.wait()
    finally:
        stack.stop()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
