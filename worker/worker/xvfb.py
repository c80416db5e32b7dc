"""Headful mode: the worker starts its own Xvfb and stops it on exit."""

from __future__ import annotations

import logging
import os
import select
import subprocess
import time

log = logging.getLogger(__name__)


class Xvfb:
    def __init__(self, screen: str = "1920x1080x24") -> None:
        self.screen = screen
        self.proc: subprocess.Popen[bytes] | None = None
        self.display: str | None = None

    def start(self, timeout_s: float = 10.0) -> str:
        """Start Xvfb on a free display (it picks one and writes it to -displayfd); return ':N'."""
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    self.screen,
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(write_fd)
            # Xvfb writes the number and then the newline; closing the pipe between the two makes
            # it fail with "Cannot write display number", so read up to the newline.
            data = b""
            deadline = time.monotonic() + timeout_s
            while not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read_fd], [], [], max(0.0, left))
                if not ready:
                    raise RuntimeError("Xvfb did not report a display in time")
                chunk = os.read(read_fd, 32)
                if not chunk:
                    break
                data += chunk
            number = data.decode().strip()
        finally:
            os.close(read_fd)
        if not number.isdigit():
            self.stop()
            raise RuntimeError("Xvfb failed to start")
        self.display = f":{number}"
        log.info("Xvfb started on display %s", self.display)
        return self.display

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
