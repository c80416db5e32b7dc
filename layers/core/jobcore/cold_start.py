"""What a function builds once per execution environment (a Lambda's cold start): its settings, its
Redis connection, its services. Every function's cached parts are made here, the same way, and one
`reset()` forgets them all, for the local stack and the tests, which change the environment.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from jobcore.settings import Settings, load_settings

_lock = threading.Lock()
_forgetters: list[Callable[[], None]] = []


class Made[T]:
    """`build()` called on first use and remembered until `reset()`; `close` lets go of what it held
    (a connection) when it is forgotten."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None) -> None:
        self._cached = functools.cache(build)
        self._close = close
        functools.update_wrapper(self, build)

    def __call__(self) -> T:
        return self._cached()

    def forget(self) -> None:
        if self._close is not None and self._cached.cache_info().currsize:
            self._close(self._cached())
        self._cached.cache_clear()


def once[T](build: Callable[[], T], *, close: Callable[[T], None] | None = None) -> Made[T]:
    """`build` made once per process, and forgotten by `reset()`: `@once` over a function of no
    arguments, or `once(build, close=…)` when what it made holds something to let go of."""
    made = Made(build, close)
    with _lock:
        _forgetters.append(made.forget)
    return made


def reset() -> None:
    """Forget everything made once, settings included: the next call builds it from the environment."""
    with _lock:
        forgetters = list(_forgetters)
    for forget in forgetters:
        forget()


@once
def settings() -> Settings:
    """This process's settings, read and checked once (a bad value fails the cold start)."""
    return load_settings()
