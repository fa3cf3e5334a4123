"""When trials are launched, and on which device: the scheduling of a sweep.

Two schedulings (``hydra.sweeper.scheduling``):

* ``batch``: ``batch_size`` trials go to the launcher in one ``launch()`` call and the next
  batch starts when all of them have returned (Hydra's launcher API is synchronous);
* ``async``: ``batch_size`` slots; each holds one trial, launched alone through the same
  launcher from a thread of its own, and is refilled as soon as its trial returns.

This module owns the launches themselves (:class:`ConcurrentLauncher`), the device pool
(:class:`DevicePool`) and the job numbers reserved before a launch (:func:`reserve` and
:func:`next_job_number`); the loop decides what to launch and records what comes back.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from hydra.core.utils import JobReturn

from ..errors import SweepStoppedError
from ..records.sweep_dir import OUTCOME_SUFFIX, RESERVED_SUFFIX, outcome_file, reservation_file
from ..settings import DEVICE_FIELD

log = logging.getLogger(__name__)

LaunchFn = Callable[[List[List[str]], int], Sequence[JobReturn]]
# How long a launch may take to hand its job over before the next launch starts anyway.
DISPATCH_TIMEOUT_S = 60.0


@dataclass
class Launch:
    """One trial on its way: what was asked, the overrides it got, the device it holds."""

    number: int
    point: Any
    params: Dict[str, Any]
    overrides: List[str]
    device: Any = None
    started: float = field(default_factory=time.perf_counter)


# -- job numbers -------------------------------------------------------------------------------


def reserve(outcomes_dir: Path, numbers: Sequence[int],
            params: Optional[Sequence[Dict[str, Any]]] = None, in_process: bool = False) -> None:
    """Take job numbers before their launch, each exclusively, so a rerun after a kill never
    reuses the job dir of a trial that was running then; each reservation keeps the params its
    job is launched with, so a resume can record a job that finished unrecorded, and whether
    it runs in the sweeper's own process (Hydra's basic launcher), where a job that never
    returned took the sweeper down with it.

    Raises
    ------
    SweepStoppedError
        A number is taken already: another sweeper writes to this sweep dir.
    """
    outcomes_dir.mkdir(parents=True, exist_ok=True)
    for index, number in enumerate(numbers):
        path = reservation_file(outcomes_dir, number)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise SweepStoppedError(
                f"Job number {number} is taken already ({path} exists): another sweeper is "
                f"launching into {outcomes_dir.parent}. Give each sweep its own hydra.sweep.dir"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({**({"params": params[index]} if params is not None else {}),
                                     "in_process": in_process}))


def release_in_process(outcomes_dir: Path, numbers: Sequence[int]) -> None:
    """Jobs that an interrupt stopped in the sweeper's process: their reservations no longer
    say they ran there, so a resume runs them again instead of recording them as failed."""
    for number in numbers:
        reservation = reserved(outcomes_dir, number)
        if reservation is not None and reservation.get("in_process"):
            reservation_file(outcomes_dir, number).write_text(
                json.dumps({**reservation, "in_process": False}), encoding="utf-8")


def reserved(outcomes_dir: Path, number: int) -> Optional[Dict[str, Any]]:
    """Job ``number``'s reservation: ``params`` (the params it was launched with, where kept)
    and ``in_process``; None when it kept nothing readable."""
    try:
        reservation = json.loads(reservation_file(outcomes_dir, number).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(reservation, dict):
        return None
    if not isinstance(reservation.get("params"), dict):
        reservation.pop("params", None)
    return reservation


def _job_numbers(outcomes_dir: Path, suffixes: Tuple[str, ...]) -> List[int]:
    """The job numbers of the files ``<number><suffix>`` in the outcomes dir."""
    if not outcomes_dir.is_dir():
        return []
    return [int(path.name.split(".", 1)[0]) for path in outcomes_dir.iterdir()
            if path.name.split(".", 1)[0].isdigit() and path.name.endswith(suffixes)]


def next_job_number(outcomes_dir: Path, journaled: Sequence[int]) -> int:
    """After every journaled trial, every reserved number and every job that left an outcome."""
    numbers = list(journaled) + _job_numbers(outcomes_dir, (OUTCOME_SUFFIX, RESERVED_SUFFIX))
    return max(numbers, default=-1) + 1


def unrecorded(outcomes_dir: Path, journaled: Sequence[int]) -> List[int]:
    """Job numbers reserved by an earlier run that are not in the journal: trials that were
    running when it stopped (on a cluster they may still be running)."""
    return sorted(set(_job_numbers(outcomes_dir, (RESERVED_SUFFIX,))) - set(journaled))


def wait_for_outcomes(outcomes_dir: Path, numbers: Sequence[int], timeout: float) -> None:
    """Wait, at most ``timeout`` seconds, until each job has left its outcome: when a launcher
    raises for one job of a batch, the others may still be finishing (Ray, SLURM)."""
    deadline = time.monotonic() + timeout
    waiting = [n for n in numbers if not outcome_file(outcomes_dir, n).exists()]
    while waiting and time.monotonic() < deadline:
        time.sleep(0.2)
        waiting = [n for n in waiting if not outcome_file(outcomes_dir, n).exists()]


# -- devices -----------------------------------------------------------------------------------


class DevicePool:
    """The devices of one machine, each held by at most one running trial.

    Parameters
    ----------
    devices : list or None
        Device ids (``[0, 1, 2, 3]``); None: no pool, trials get no device override.
    template : str
        The override a trial receives, ``{device}`` standing for the device it holds
        (``trainer.devices=[{device}]``).
    """

    def __init__(self, devices: Optional[Sequence[Any]], template: str) -> None:
        self.devices = list(devices) if devices is not None else None
        self.template = template
        self._free: List[Any] = list(self.devices or [])
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.devices is not None

    def take(self) -> Any:
        """A free device (the first listed), or None without a pool."""
        if not self.enabled:
            return None
        with self._lock:
            if not self._free:
                raise RuntimeError("no free device: more trials are running than devices")
            return self._free.pop(0)

    def give_back(self, device: Any) -> None:
        if device is None:
            return
        with self._lock:
            if device in self._free:
                raise RuntimeError(f"device {device!r} was given back twice")
            # keep the listed order, so the first free device is always the lowest listed
            self._free.append(device)
            self._free.sort(key=self.devices.index)

    def overrides(self, device: Any) -> List[str]:
        return [] if device is None else [self.template.replace(DEVICE_FIELD, str(device))]


# -- concurrent launches -----------------------------------------------------------------------


class Handover:
    """Tells the launch that is starting that its job has been handed over.

    Set as ``trial.task.TimedTask.on_dispatch``: a launcher pickles the task function to send
    it to the job's process (loky, Ray and submitit all do), which is the moment its set-up in
    this process is over.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Optional[threading.Event] = None

    def expect(self) -> threading.Event:
        """A fresh event for the launch about to start, set at its hand-over."""
        with self._lock:
            self._current = threading.Event()
            return self._current

    def __call__(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.set()


class ConcurrentLauncher:
    """Runs one-trial ``launch()`` calls of a Hydra launcher side by side, one thread each.

    A launcher does its own set-up in this process before it hands a job over (the joblib
    launcher configures logging and submits to loky's process-wide executor; the Ray launcher
    calls ``ray.init`` on its first launch; Ray and submitit compose the job's config here).
    None of that is safe to run twice at once, so :meth:`start` returns only once its launch
    has handed the job over (see :class:`Handover`), or has returned, or after
    ``dispatch_timeout``.

    Parameters
    ----------
    launch : callable
        ``launch(job_overrides, initial_job_idx) -> JobReturns``.
    handover : Handover, optional
        Signals the hand-over; None: :meth:`start` waits for nothing.
    """

    def __init__(self, launch: LaunchFn, handover: Optional[Handover] = None,
                 dispatch_timeout: float = DISPATCH_TIMEOUT_S) -> None:
        self._launch = launch
        self._handover = handover
        self._dispatch_timeout = dispatch_timeout
        self._finished: "queue.Queue[Tuple[Launch, Optional[JobReturn], Optional[str]]]" = queue.Queue()
        self.running: Dict[int, Launch] = {}

    def start(self, launch: Launch) -> None:
        """Launch one trial in a thread of its own; returns once it has been handed over."""
        self.running[launch.number] = launch
        handed_over = self._handover.expect() if self._handover is not None else threading.Event()
        # daemon: a second Ctrl-C, or an error, must not wait for jobs still out on a cluster
        thread = threading.Thread(target=self._run, args=(launch, handed_over), daemon=True,
                                  name=f"skopt-trial-{launch.number}")
        thread.start()
        if self._handover is not None and not handed_over.wait(self._dispatch_timeout):
            log.debug("Trial #%d was not handed over within %.0f s; launching the next anyway",
                      launch.number, self._dispatch_timeout)

    def next_finished(self) -> Tuple[Launch, Optional[JobReturn], Optional[str]]:
        """Block until a running trial returns: ``(launch, job return, launcher error)``."""
        launch, ret, error = self._finished.get()
        self.running.pop(launch.number, None)
        return launch, ret, error

    def _run(self, launch: Launch, handed_over: threading.Event) -> None:
        ret: Optional[JobReturn] = None
        error: Optional[str] = None
        try:
            returns = list(self._launch([launch.overrides], launch.number))
            ret = returns[0] if returns else None
        except BaseException as caught:  # a worker died, the cluster went away: this trial only
            error = launcher_error(caught)
        finally:
            handed_over.set()
            self._finished.put((launch, ret, error))


def launcher_error(error: BaseException) -> str:
    """``Type: first line`` of an error a launcher raised."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"
