"""One sweeper per sweep dir: an exclusive lock, held from before the journal is read until
the sweep ends.

The lock is ``flock(2)`` on ``SWEEP_DIR/.sweep.lock`` (:data:`..records.sweep_dir.LOCK`). The kernel
drops it when its holder ends in any way, ``kill -9`` included, so a killed sweeper never leaves
a stale lock behind and nothing has to guess whether a holder still lives. Linux takes an
``flock`` on an NFS mount as an NFS lock (NFSv4, or NFSv3 with ``lockd``), so sweepers on two
machines of a cluster that share the sweep dir exclude each other too. The holder writes its
host, process id, start time and command into the file, for the message a second sweeper
prints. Where ``fcntl`` does not exist (Windows) no lock is taken.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Optional, Type

from ..errors import SweeperConfigError
from ..records.sweep_dir import SweepDir

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


class SweepDirBusy(SweeperConfigError):
    """Another sweeper holds the sweep dir."""


class SweepLock:
    """``with SweepLock(sweep_dir):`` holds the sweep dir, or raises :class:`SweepDirBusy`
    naming the holder."""

    def __init__(self, sweep_dir: Path) -> None:
        self.path = SweepDir(sweep_dir).lock
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        if fcntl is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise SweepDirBusy(
                f"hydra.sweep.dir={self.path.parent} is in use by another sweep ({self.holder()}). "
                "Two sweepers on one sweep dir would launch the same job numbers: wait for it to "
                "end (or stop it), or give this sweep another hydra.sweep.dir"
            ) from None
        holder = {"host": socket.gethostname(), "pid": os.getpid(),
                  "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it."""
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
            return (f"process {holder['pid']} on {holder['host']} since {holder['since']}: "
                    f"{holder['command']}")
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that has not said who it is yet"

    def __enter__(self) -> "SweepLock":
        self.acquire()
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.release()
