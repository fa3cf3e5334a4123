"""Redrawing a sweep's plots in the background while it runs, never holding the sweep.

The loop asks :class:`PlotRefresher` to redraw; one detached process per sweep
(``python -m hydra_skopt_sweeper.plot_refresher SWEEP_DIR --follow``, :func:`follow`) draws
with :func:`.plots.draw_plots`, from the sweep dir alone.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .sweep_dir import CURVES, JOURNAL, SweepDir
from .plots import draw_plots, picture_names

log = logging.getLogger(__name__)



class PlotRefresher:
    """Redraws a sweep's plots in one detached process, one drawing at a time, never waited
    for beyond :meth:`wait`'s bound.

    The process (``python -m hydra_skopt_sweeper.plot_refresher SWEEP_DIR --follow``, :func:`follow`)
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
        return [sys.executable, "-m", "hydra_skopt_sweeper.plot_refresher", str(sweep_dir), "--follow"]

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


def pictures(sweep_dir: Path, several: bool, drawn: bool) -> List[Path]:
    """The pictures to name at the end of a sweep of one objective or ``several``: those in
    ``sweep_dir`` once its last drawing has ``drawn``; while it still runs, those it draws."""
    from .pruning import read_curves

    names = picture_names(several)
    if drawn:
        return [Path(sweep_dir) / name for name in names if (Path(sweep_dir) / name).is_file()]
    return [Path(sweep_dir) / name for name in names if name != CURVES or read_curves(sweep_dir)]


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


def _draw_sweep_dir(sweep_dir: Path) -> None:
    if not SweepDir(sweep_dir).journal.is_file():
        raise FileNotFoundError(f"{sweep_dir} has no {JOURNAL}")
    draw_plots(sweep_dir)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m hydra_skopt_sweeper.plot_refresher SWEEP_DIR [--follow]``: draw once, or (what
    :class:`PlotRefresher` starts) once per request on stdin until it closes. Exit status 1
    when a drawing failed."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m hydra_skopt_sweeper.plot_refresher")
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--follow", action="store_true", help="draw once per request on stdin, until it closes")
    args = parser.parse_args(argv)
    if hasattr(os, "nice"):
        os.nice(10)  # the trials come first
    logging.basicConfig(level=logging.ERROR, format="plots: %(levelname)s: %(message)s")
    if args.follow:
        return 1 if follow(args.sweep_dir, sys.stdin.fileno(), _draw_sweep_dir)[1] else 0
    _draw_sweep_dir(args.sweep_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
