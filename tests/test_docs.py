"""The documentation site: it builds strictly, its config reference is the schema's, and every
block that is a full command or script runs here or says why it cannot.

A command or script block (a line that starts with ``python``, ``make``, ``pip``,
``skopt-report``, ``skopt-from-optuna``, ``tensorboard`` or ``.venv/bin/``; a Python block that
imports) carries a marker on the line before it:

* ``<!-- runs: compose [APP] -->``: each ``python APP ...`` command in it (``APP`` standing for
  the command's own script name, the example app by default) is composed as Hydra would compose
  it, and its sweep built and checked as the sweeper does before the first trial: a renamed
  setting, key or preset, or a bad sweep, fails here;
* ``<!-- runs: script -->``: the Python block runs as written;
* ``<!-- not runnable: REASON -->``.

Config excerpts (YAML) and printed output are not commands and need no marker.
"""
from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
COMMANDS = ("python ", "make ", "pip ", "skopt-report", "skopt-from-optuna", "tensorboard ", ".venv/bin/")
MARKER = re.compile(r"^<!-- (runs: (compose|script)(?: (\S+))?|not runnable: (.+)) -->$")


class Block(NamedTuple):
    page: str
    line: int
    language: str
    text: str
    marker: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The code blocks of a page, fenced or indented, each with the line before it."""
    name = str(page.relative_to(REPO))
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        before = next((lines[k].strip() for k in range(index - 1, -1, -1) if lines[k].strip()), "")
        fence = re.match(r"^```(\w*)", line)
        if fence:
            end = next(k for k in range(index + 1, len(lines)) if lines[k].startswith("```"))
            yield Block(name, index + 1, fence.group(1) or "text", "\n".join(lines[index + 1:end]), before)
            index = end + 1
            continue
        follows_text = index > 0 and lines[index - 1].strip()
        if line.startswith("    ") and not follows_text:
            end = index
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            text = "\n".join(row[4:] for row in lines[index:end]).strip("\n")
            yield Block(name, index + 1, "indented", text, before)
            index = end
            continue
        index += 1


def is_runnable_kind(block: Block) -> bool:
    """A full command or script, as opposed to a config excerpt or printed output."""
    if block.language == "python":
        return bool(re.search(r"^(from|import) ", block.text, re.M))
    if block.language in ("yaml", "text"):
        return False
    return any(line.strip().startswith(COMMANDS) for line in block.text.splitlines())


def pages() -> List[Path]:
    """The site's pages and the README."""
    return sorted(DOCS.rglob("*.md")) + [REPO / "README.md"]


def all_blocks() -> List[Block]:
    return [block for page in pages() for block in blocks(page) if is_runnable_kind(block)]


def _marked(kind: str) -> List[Block]:
    return [b for b in all_blocks() if (m := MARKER.match(b.marker)) and (m.group(2) or "not") == kind]


def test_every_command_and_script_runs_here_or_says_why_not():
    unmarked = [f"{b.where}: {b.text.splitlines()[0]}" for b in all_blocks() if not MARKER.match(b.marker)]
    assert not unmarked, "blocks with no <!-- runs: ... --> or <!-- not runnable: ... --> before them:\n" + "\n".join(unmarked)


def _commands(block: Block, app: str) -> Iterator[List[str]]:
    """The ``python APP ...`` commands of a block, continued lines joined, comments cut."""
    text = re.sub(r"\\\n\s*", " ", block.text)
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) >= 2 and words[0] in ("python", ".venv/bin/python") and words[1] == app:
            yield words[2:]


def _preset_files(page: Path) -> Dict[str, str]:
    """The config files a page shows whole: YAML blocks that name their path in one of their
    first two lines (``# conf/experiment/tune_mlp_ray.yaml``, after ``# @package _global_``,
    which Hydra reads only from the top of a file)."""
    found = {}
    for block in blocks(page):
        named = re.search(r"^# (conf/\S+\.yaml)$", "\n".join(block.text.splitlines()[:2]), re.M)
        if block.language == "yaml" and named:
            found[named.group(1)] = block.text + "\n"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("block", _marked("compose"), ids=lambda b: b.where)
def test_a_documented_command_composes_and_its_sweep_checks(block, tmp_path):
    app = MARKER.match(block.marker).group(3) or "example_app/train.py"
    commands = list(_commands(block, app))
    assert commands, f"{block.where}: no `python {app} ...` command to compose"
    # the example's config tree, with the presets the page tells the reader to write
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    for path, text in _preset_files(REPO / block.page).items():
        (tmp_path / path).write_text(text, encoding="utf-8")
    # in a process of its own: the plugins' configs register once per process, and a test
    # that restores Hydra's singletons may have dropped them from this one
    code = ("import json, sys; from pathlib import Path; from tests.test_docs import compose_and_check\n"
            "for arguments in json.loads(sys.argv[1]): compose_and_check(arguments, Path(sys.argv[2]))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(commands), str(tmp_path / "conf")], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{block.where}:\n{proc.stderr[-4000:]}"


def compose_and_check(arguments: List[str], config_dir: Path = REPO / "conf") -> None:
    """What ``python example_app/train.py ARGUMENTS`` does before its first trial: compose the
    config (plain overrides; a missing preset fails), read the sweeper's settings and build the
    sweep (the sweeps)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from hydra_skopt_sweeper.doors.hydra import read_settings
    from hydra_skopt_sweeper.problem.search_space import build_search_space
    from hydra_skopt_sweeper.settings import check_settings

    overrides = [a for a in arguments if a not in ("-m", "--multirun")]
    parser = OverridesParser.create()
    parsed = parser.parse_overrides(overrides)
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        config = compose(config_name="config", overrides=plain, return_hydra_config=True)
        sweeper = OmegaConf.to_container(config.hydra.sweeper, resolve=False)
        if "skopt_sweeper" not in str(sweeper.get("_target_", "")):
            return  # a run without this sweeper: composing was the check
        settings, _ = read_settings({k: v for k, v in sweeper.items() if k not in ("_target_", "_recursive_", "params")})
        check_settings(settings)
        build_search_space(sweeper.get("params") or {}, sweeps, parser)


@pytest.mark.slow
@pytest.mark.parametrize("block", _marked("script"), ids=lambda b: b.where)
def test_a_documented_script_runs_as_written(block, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(block.text, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{block.where}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


def test_the_config_reference_is_the_schemas():
    sys.path.insert(0, str(DOCS))
    try:
        import hooks
    finally:
        sys.path.remove(str(DOCS))
    from hydra_skopt_sweeper.doors.optuna import OPTUNA_KEYS
    from hydra_skopt_sweeper.settings import PrunerConf, SkoptSweeperConf

    page = hooks.config_reference()
    for cls, prefix in ((SkoptSweeperConf, ""), (PrunerConf, "pruner.")):
        for row_name, default, meaning in hooks.rows(cls, prefix):
            assert meaning, f"{row_name} has no comment above it in settings.py: the reference has nothing to say"
        for field in dataclasses.fields(cls):
            if field.name not in ("_target_", "_recursive_", "defaults"):
                assert f"`{prefix}{field.name}`" in page, field.name
    assert "| `n_calls` | `50` |" in page and "| `acq_func` | `EI` |" in page and "One of: `EI`, `PI`" in page
    assert all(f"`{key}`" in page for key in OPTUNA_KEYS)
    assert "<!-- config-reference -->" in (DOCS / "reference" / "config.md").read_text()


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env={**__import__("os").environ,
                                                                                        "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    config_page = (tmp_path / "site" / "reference" / "config" / "index.html").read_text()
    # the marker replaced by the tables (the page names its own anchor "config-reference")
    assert "initial_point_generator" in config_page and "&lt;!-- config-reference" not in config_page
    assert "<!-- config-reference -->" not in config_page
    api_page = (tmp_path / "site" / "reference" / "api" / "index.html").read_text()
    assert "TorchOptimizer" in api_page and "gp_minimize" in api_page and "PruningCallback" in api_page
