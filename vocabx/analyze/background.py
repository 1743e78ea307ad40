"""One function run in a forked child while this process goes on: the child inherits the arguments (no pickling
of large inputs), only the result comes back. Without a fork (one worker) the call runs inline, when needed."""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_TASK: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {}


def _call() -> Any:
    fn, args = _TASK["task"]
    return fn(*args)


class Background(Generic[T]):
    """`Background(fn, *args, fork=True).result()` is `fn(*args)`, computed in a child started now."""

    def __init__(self, fn: Callable[..., T], *args: Any, fork: bool) -> None:
        self._fn, self._args = fn, args
        self._pool = None
        if fork:
            _TASK["task"] = (fn, args)  # read by the child, which has a copy of this process's memory
            try:
                self._pool = mp.get_context("fork").Pool(1)
                self._async = self._pool.apply_async(_call)
            finally:
                _TASK.clear()

    def result(self) -> T:
        if self._pool is None:
            return self._fn(*self._args)
        try:
            return self._async.get()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child if it still runs (on errors elsewhere); idempotent."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
