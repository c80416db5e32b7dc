"""A session's event listeners, kept so they can all be removed: a warm tab outlives its sessions, and a
listener left on its page or context would see (and record) the next session's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Emitter(Protocol):
    def on(self, event: Any, f: Any) -> None: ...

    def remove_listener(self, event: Any, f: Any) -> None: ...


OnFn = Callable[["Emitter", str, Callable[..., Any]], None]


class Listeners:
    def __init__(self) -> None:
        self._added: list[tuple[Emitter, str, Callable[..., Any]]] = []

    def on(self, emitter: Emitter, event: str, handler: Callable[..., Any]) -> None:
        emitter.on(event, handler)
        self._added.append((emitter, event, handler))

    def clear(self) -> None:
        added, self._added = self._added, []
        for emitter, event, handler in added:
            emitter.remove_listener(event, handler)
