"""Shared bits of the benchmarks: paths, the project's interpreter, tables and reports."""
from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Sequence

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PROJECT_PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """This process's peak RSS in MB: VmHWM (per address space, so a fresh exec starts afresh;
    Linux carries ru_maxrss over from the parent at fork, so measure in a fresh process)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table (also what is printed)."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.rstrip("\n") if out.returncode == 0 else "(git failed)"


def sweeper_commit() -> str:
    """HEAD, with ``+dirty`` where the sweeper's own code has uncommitted changes: what a run measured."""
    dirty = git("status", "--short", "--", "hydra_skopt_sweeper", "hydra_plugins")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def checkout() -> str:
    """The commit measured and what was uncommitted then (the sweeper may change under a run)."""
    status = git("status", "--short").splitlines()[:10]
    listing = "\n".join(status) if status else "(clean)"
    return f"Commit: {git('rev-parse', '--short', 'HEAD')}; `git status --short | head`:\n\n```\n{listing}\n```"


def write_report(name: str, title: str, command: str, sections: List[str]) -> Path:
    """results/<name>.md: title, command, machine, date, commit and working-tree state, sections."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    text = [f"# {title}", "", f"Command: `{command}`", "",
            f"Machine: {machine()}; run {time.strftime('%Y-%m-%d %H:%M')}", "", checkout(), ""]
    text += [s + "\n" for s in sections]
    path.write_text("\n".join(text))
    return path
