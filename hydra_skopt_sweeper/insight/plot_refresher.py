"""Redrawing a sweep's plots and its report page in the background while it runs, never
holding the sweep.

The loop asks :class:`PlotRefresher` to redraw; one detached process per sweep
(``python -m hydra_skopt_sweeper.insight.plot_refresher SWEEP_DIR --follow``, :func:`follow`) draws
with :func:`.pictures.draw_plots`, from the sweep dir alone, and after each drawing writes
``report.html`` (:func:`.report_page.write_page`), a page that reloads itself while the sweep
runs. When its input closes (the sweep has ended, or its sweeper died) it writes the page
once more, as the sweep's last state.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..records.sweep_dir import JOURNAL, REPORT, SweepDir
from .importance import with_model
from .pictures import draw_plots, picture_names
from .report_page import write_page
from .sweep_record import SweepRecord, load_sweep

log = logging.getLogger(__name__)



class PlotRefresher:
    """Redraws a sweep's plots in one detached process, one drawing at a time, never waited
    for beyond :meth:`wait`'s bound.

    The process (``python -m hydra_skopt_sweeper.insight.plot_refresher SWEEP_DIR --follow``, :func:`follow`)
    starts at the first :meth:`refresh`, in a session of its own, at a lower priority, its
    output in ``.plots.log``, and pays for importing skopt and matplotlib once. Each refresh
    writes a byte to its input; it reads all that came during a drawing at once, so they are
    coalesced into one more drawing of the newest state. :meth:`wait` closes its input: it
    draws what it was asked to and exits, by itself if the sweep has ended by then.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.started = 0  # drawing processes started
        self.failures = 0
        self._proc: Optional[subprocess.Popen] = None
        self._log_path: Optional[Path] = None
        self._version: Any = None

    @staticmethod
    def command(sweep_dir: Path) -> List[str]:
        return [sys.executable, "-m", "hydra_skopt_sweeper.insight.plot_refresher", str(sweep_dir), "--follow"]

    def refresh(self, sweep_dir: Path, version: Any = None) -> None:
        """Ask for ``sweep_dir``'s plots to be redrawn; returns at once. A refresh with the
        same ``version`` (a state of the sweep, e.g. its number of trials) as the previous
        one asks for nothing new."""
        if not self.enabled or (version is not None and version == self._version):
            return
        self._version = version
        if self._proc is not None and self._proc.poll() is not None:  # it died: start another
            self._count_failure(self._proc)
            self.close()
        try:
            if self._proc is None:
                self._spawn(Path(sweep_dir).resolve())
            self._proc.stdin.write(b"\n")
            self._proc.stdin.flush()
        except OSError as error:  # it died meanwhile (a broken pipe), or cannot start
            log.warning("Cannot draw the plots in the background (%s)", error)

    def wait(self, timeout: float) -> bool:
        """Ask for nothing more and wait up to ``timeout`` seconds for the drawing process to
        end; False when it still runs then (it goes on, detached, and finishes by itself)."""
        proc = self._proc
        self.close()
        if proc is None:
            return True
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        self._count_failure(proc)
        return True

    def close(self) -> None:
        """Close the drawing process's input: it draws what it was asked to, then exits."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:  # it died with bytes unread
            pass

    def _spawn(self, sweep_dir: Path) -> None:
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
        package_root = str(Path(__file__).resolve().parent.parent)  # found from any working directory
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._log_path = SweepDir(sweep_dir).plots_log
        with open(self._log_path, "ab") as log_file:
            self._proc = subprocess.Popen(self.command(sweep_dir), stdin=subprocess.PIPE, stdout=log_file,
                                          stderr=subprocess.STDOUT, env=env, close_fds=True,
                                          start_new_session=True)
        self.started += 1

    def _count_failure(self, proc: subprocess.Popen) -> None:
        if proc.returncode:
            self.failures += 1
            log.warning("Drawing the plots failed; see %s", self._log_path)


def pictures(sweep_dir: Path, several: bool) -> List[Path]:
    """The pictures and the report page of a sweep of one objective or ``several`` that are in
    ``sweep_dir`` now (the end of a sweep names only what a person can open)."""
    paths = [Path(sweep_dir) / name for name in picture_names(several) + (REPORT,)]
    return [path for path in paths if path.is_file()]


def follow(sweep_dir: Path, requests: int, draw: Callable[[Path], Any] = draw_plots) -> Tuple[int, int]:
    """Draw ``sweep_dir``'s plots each time something arrives on ``requests``, until it closes.

    One ``os.read`` takes every request that came during the last drawing, so they make one
    drawing, of the state the sweep dir holds then. A drawing that fails is reported on
    stderr, and the next request is drawn all the same.

    Parameters
    ----------
    sweep_dir : Path
    requests : int
        A file descriptor (the drawing process's stdin); any bytes are a request.
    draw : callable
        ``draw(sweep_dir)``; :func:`draw_plots` unless testing.

    Returns
    -------
    (int, int)
        The drawings made, and those that failed.
    """
    import traceback

    drawn = failed = 0
    while os.read(requests, 1 << 16):
        try:
            draw(Path(sweep_dir))
            drawn += 1
        except Exception:  # a bad state of the sweep dir must not end the drawings to come
            traceback.print_exc()
            failed += 1
    return drawn, failed


class Drawings:
    """What the drawing process makes of one sweep dir: its pictures and its report page, the
    parameters' importance computed once per state of the sweep for both."""

    def __init__(self, sweep_dir: Path) -> None:
        self.sweep_dir = Path(sweep_dir)
        self._model: Tuple[Any, List[Any]] = (None, [])  # the refitted model and its importance
        self._model_of: Optional[int] = None  # the number of trials they were computed from

    def draw(self, live: bool = True) -> None:
        """Draw the pictures, then write the page (``live``: it reloads itself), even when a
        picture failed; that failure is raised after."""
        record = self._record()
        surface, importance = self.model(record)
        try:
            draw_plots(record, importance=importance, surface=surface)
        finally:
            write_page(record, importance=importance, live=live)

    def finish(self) -> None:
        """Write the page once more as the sweep's last state (no reloading); nothing when the
        sweep dir has no journal."""
        if SweepDir(self.sweep_dir).journal.is_file():
            record = self._record()
            write_page(record, importance=self.model(record)[1], live=False)

    def model(self, record: SweepRecord) -> Tuple[Any, List[Any]]:
        """:func:`.importance.with_model` of the record, recomputed only when trials came; an
        error is reported on stderr and leaves the pictures and the page without importance."""
        import traceback

        if self._model_of != len(record.trials):
            try:
                self._model = with_model(record)
            except Exception:  # the pictures and the page come first
                traceback.print_exc()
                self._model = (None, [])
            self._model_of = len(record.trials)
        return self._model

    def _record(self) -> SweepRecord:
        if not SweepDir(self.sweep_dir).journal.is_file():
            raise FileNotFoundError(f"{self.sweep_dir} has no {JOURNAL}")
        return load_sweep(self.sweep_dir)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m hydra_skopt_sweeper.insight.plot_refresher SWEEP_DIR [--follow]``: draw once and write
    the page, or (what :class:`PlotRefresher` starts) once per request on stdin until it closes,
    then the page as the sweep's last state. Exit status 1 when a drawing or a page failed."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m hydra_skopt_sweeper.insight.plot_refresher")
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--follow", action="store_true", help="draw once per request on stdin, until it closes")
    args = parser.parse_args(argv)
    if hasattr(os, "nice"):
        os.nice(10)  # the trials come first
    logging.basicConfig(level=logging.ERROR, format="plots: %(levelname)s: %(message)s")
    drawings = Drawings(args.sweep_dir)
    if not args.follow:
        drawings.draw(live=False)
        return 0
    failed = follow(args.sweep_dir, sys.stdin.fileno(), lambda _: drawings.draw())[1]
    try:
        drawings.finish()
    except Exception:  # reported like a drawing that failed
        import traceback

        traceback.print_exc()
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
