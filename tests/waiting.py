"""Bounded waits for what goes on after a sweep returns: its drawing process, a background job.

No timing is asserted: a wait fails only when its bound passes, which on a busy machine is far
beyond what the work takes.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Union

#: seconds a drawing may take on a loaded 2-core CI machine before a test gives up on it
DRAWING_TIMEOUT_S = 180.0


def wait_until(condition: Callable[[], bool], timeout: float = DRAWING_TIMEOUT_S,
               what: Union[str, Callable[[], str]] = "timed out", poll: float = 0.1) -> None:
    """Return once ``condition()`` holds; fail with ``what`` (or what it returns) if ``timeout``
    seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(poll)


def wait_for_files(paths: Iterable[Path], timeout: float = DRAWING_TIMEOUT_S) -> None:
    """Return once every path is a file: a sweep's last drawing may finish after the sweep."""
    paths = list(paths)
    wait_until(lambda: all(path.is_file() for path in paths), timeout,
               lambda: "never written: " + ", ".join(str(path) for path in paths if not path.is_file()))
