"""Serve one port from several processes, as Lambda serves concurrent requests from separate
execution environments.

Each process has its own handlers, its own Redis connections and its own GIL; the kernel spreads new
connections over the processes' sockets (SO_REUSEPORT). Children leave when the parent does: on its
SIGTERM or Ctrl-C, and within one poll interval if it is killed outright.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socketserver
import sys
from collections.abc import Callable
from types import FrameType

POLL_S = 0.2


class _StopRequestedError(Exception):
    """SIGTERM in the parent: unwind through `finally` so the children are stopped too."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError


def serve(
    first: socketserver.BaseServer, make_server: Callable[[int], socketserver.BaseServer], processes: int
) -> None:
    """Serve with `first` (already bound) here and `make_server(its port)` in `processes - 1` forks.

    Returns when this process is stopped (SIGTERM or Ctrl-C), after its children have exited.
    """
    port = int(first.server_address[1])  # type: ignore[index]  # TCP servers: (host, port)
    parent = os.getpid()
    children: list[int] = []
    for _ in range(processes - 1):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(first, make_server, port, parent)
        children.append(pid)
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        first.serve_forever(poll_interval=POLL_S)
    except (KeyboardInterrupt, _StopRequestedError):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        first.server_close()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _child(
    inherited: socketserver.BaseServer,
    make_server: Callable[[int], socketserver.BaseServer],
    port: int,
    parent: int,
) -> None:
    """A forked process: its own socket on the same port; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        inherited.socket.close()  # type: ignore[attr-defined]  # TCP servers have one
        server = make_server(port)

        def leave_with_parent() -> None:
            if os.getppid() != parent:
                os._exit(0)

        server.service_actions = leave_with_parent  # type: ignore[method-assign]
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever(poll_interval=POLL_S)
    except BaseException:  # a forked child must never run the parent's code after this
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)
