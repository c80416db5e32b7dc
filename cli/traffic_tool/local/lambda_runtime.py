"""Load a Lambda handler from its CodeUri folder and call it the way the Lambda runtime would."""

from __future__ import annotations

import importlib
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalContext:
    """What the handlers read of a LambdaContext."""

    function_name: str
    timeout_s: float = 29.0
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def load_handler(project_root: Path, code_uri: str, handler: str) -> Handler:
    """Import `module.function` from the function's CodeUri folder (module names are unique per function)."""
    folder = str((project_root / code_uri).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    func: Handler = getattr(module, function_name)
    return func
