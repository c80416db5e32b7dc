"""The fleet's capacity, behind a small interface: ECS in AWS, worker processes in the local stack."""

from __future__ import annotations

from typing import Protocol


class CapacityBackend(Protocol):
    """The one thing the scaler controls: how many worker tasks should run."""

    def current(self) -> int:
        """The desired count now in force (not the tasks that happen to be running)."""
        ...

    def set_desired(self, count: int) -> None: ...
