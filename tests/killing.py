"""Kill a running sweep at a chosen moment: start it in a process group of its own, poll until
a condition on its sweep dir holds, then signal the whole group (as kill -9 or Ctrl-C would)."""
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence


def default_sigint() -> None:
    """A Popen ``preexec_fn``: the child hears Ctrl-C (SIGINT) whatever its parent ignores."""
    # A shell that runs a job in the background (`make test &`, a CI step) hands it SIGINT
    # ignored, every child inherits that, and Python then installs no KeyboardInterrupt
    # handler: the sweep would not hear the Ctrl-C a test sends.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_when(args: Sequence[str], ready: Callable[[], bool], sig: int = signal.SIGKILL,
              timeout: float = 120.0, output: Optional[Path] = None, whole_group: bool = True) -> int:
    """Run ``python *args``; once ``ready()`` is true, send ``sig`` to its process group (or,
    ``whole_group`` false, to the process alone, as a notebook's interrupt reaches only its
    kernel) and return its exit status. Fails if the sweep ends first or ``ready`` never holds. Its stdout
    and stderr go to ``output`` when given."""
    import os

    sink = open(output, "w") if output is not None else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, *args], stdout=sink, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=default_sigint)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the moment to kill the sweep never came"
            time.sleep(0.02)
        if whole_group:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if output is not None:
            sink.close()
