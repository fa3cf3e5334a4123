"""Hydra's Optuna sweeper's keys, read as this sweeper's settings: the one place they are mapped.

A project written for ``hydra/sweeper=optuna`` (lightning-hydra-template's
``hparams_search/mnist_optuna.yaml``) keeps its file under ``hydra/sweeper=skopt_gp``: the
schema (``settings.SkoptSweeperConf``) accepts the Optuna sweeper's keys, and
:func:`from_optuna` turns those that mean something here into settings, refuses the ones it
cannot honour with what to write instead, and says in one log line what it mapped and what it
ignored.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import SweeperConfigError
from ..settings import SkoptSweeperConf

log = logging.getLogger(__name__)

# the Optuna sweeper's keys that have no counterpart here and change nothing
IGNORED = ("storage", "study_name", "experiment_sequence")
# every Optuna-sweeper key the schema accepts (params is shared: the same sweep syntax)
OPTUNA_KEYS = ("direction", "n_trials", "n_jobs", "sampler", "max_failure_rate", "storage", "study_name",
               "search_space", "custom_search_space", "experiment_sequence")
_DIRECTIONS = {"minimize": False, "maximize": True}
# the Optuna sweeper's sampler configs (hydra/sweeper/sampler=NAME): the class each names
SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler",
            "nsgaii": "NSGAIISampler", "motpe": "MOTPESampler", "grid": "GridSampler",
            "qmc": "QMCSampler", "gp": "GPSampler"}


@dataclass
class Mapped:
    """The settings after the mapping, and what it did (for the log line)."""

    settings: Dict[str, Any]
    defaults: Dict[str, Any] = field(default_factory=dict)
    mapped: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.mapped:
            parts.append("mapped " + ", ".join(self.mapped))
        if self.ignored:
            parts.append("ignored " + ", ".join(self.ignored))
        return "; ".join(parts)


def sweeper_defaults() -> Dict[str, Any]:
    """This sweeper's defaults, ``maximize`` null (so that ``direction: maximize`` can tell it
    was not set to false)."""
    defaults = SkoptSweeperConf()
    return {f.name: getattr(defaults, f.name) for f in fields(SkoptSweeperConf)
            if f.name not in OPTUNA_KEYS and f.name not in ("_target_", "_recursive_", "defaults", "params")}


def from_optuna(settings: Mapping[str, Any], defaults: Optional[Mapping[str, Any]] = None) -> Mapped:
    """Replace the Optuna sweeper's keys in ``settings`` by this sweeper's.

    ``defaults`` are this sweeper's defaults (:func:`sweeper_defaults` when not given): an
    Optuna key replaces a setting left at its default, and must agree with one set by hand.

    ``direction`` -> ``maximize``, ``n_trials`` -> ``n_calls``, ``sampler.seed`` ->
    ``random_state``, ``sampler.n_startup_trials`` -> ``n_initial_points``, ``n_jobs`` ->
    ``batch_size``, ``max_failure_rate`` -> ``max_failures``; ``storage``, ``study_name`` and the
    sampler's ``_target_`` and other fields are ignored. A key of this sweeper that was set to
    something else than its default must agree with the Optuna key it meets.

    Raises
    ------
    SweeperConfigError
        ``custom_search_space`` or the old
        ``search_space``, or an Optuna key that disagrees with this sweeper's own.
    """
    defaults = sweeper_defaults() if defaults is None else defaults
    result = Mapped({k: v for k, v in settings.items() if k not in OPTUNA_KEYS}, defaults=dict(defaults))
    given = {k: settings[k] for k in OPTUNA_KEYS if settings.get(k) is not None}
    _refuse_what_cannot_be_honoured(given)
    if "direction" in given:
        _map(result, "direction", given["direction"], "maximize", _maximize(given["direction"]))
    if "n_trials" in given:
        _map(result, "n_trials", _count("n_trials", given["n_trials"], 1), "n_calls", given["n_trials"])
    if "n_jobs" in given:
        _map(result, "n_jobs", _count("n_jobs", given["n_jobs"], 1, _N_JOBS_HINT), "batch_size", given["n_jobs"])
    if "max_failure_rate" in given:
        rate = given["max_failure_rate"]
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise SweeperConfigError(f"hydra.sweeper.max_failure_rate={rate!r}: must be a number in [0, 1]")
        n_calls = result.settings.get("n_calls", result.defaults["n_calls"])
        # Optuna stops once failures / trials exceeds the rate
        _map(result, "max_failure_rate", rate, "max_failures", math.floor(rate * n_calls) + 1)
    sampler = given.get("sampler") or {}
    if not isinstance(sampler, Mapping):
        raise SweeperConfigError(f"hydra.sweeper.sampler={sampler!r}: must be a mapping (the Optuna sweeper's sampler)")
    for key, value in sampler.items():
        if key == "seed" and value is not None:
            _map(result, "sampler.seed", _count("sampler.seed", value, 0), "random_state", value)
        elif key == "n_startup_trials" and value is not None:
            _map(result, "sampler.n_startup_trials", _count("sampler.n_startup_trials", value, 0),
                 "n_initial_points", value)
        elif value is not None:
            result.ignored.append(f"sampler.{key}" + (f" ({value})" if key == "_target_" else ""))
    result.ignored += [key for key in IGNORED if key in given]
    return result


# Optuna reads n_jobs=-1 as "every core"; here the launcher says how many trials run at once
_N_JOBS_HINT = "; leave it out to run as many trials at once as the launcher runs jobs"


def _count(optuna_key: str, value: Any, minimum: int, hint: str = "") -> Any:
    """``value``, refused unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweeperConfigError(f"hydra.sweeper.{optuna_key}={value!r}: must be an integer >= {minimum}{hint}")
    return value


def _refuse_what_cannot_be_honoured(given: Mapping[str, Any]) -> None:
    if "custom_search_space" in given:
        raise SweeperConfigError(
            f"hydra.sweeper.custom_search_space={given['custom_search_space']!r}: a Python "
            "function that builds the space cannot be read here; write each parameter in "
            "hydra.sweeper.params (interval, int(interval), tag(log, ...), choice) and a "
            "dependency between them as hydra.sweeper.constraint"
        )
    if given.get("search_space"):
        raise SweeperConfigError(
            "hydra.sweeper.search_space: the Optuna sweeper's old distribution mappings are not "
            "read here; write them in hydra.sweeper.params (e.g. lr: tag(log, interval(1e-4, 1e-1)))"
        )


def _maximize(direction: Any) -> Any:
    """``maximize`` for a direction, or the list of them for a list of directions."""
    if isinstance(direction, (list, tuple)):
        if not direction:
            raise SweeperConfigError("hydra.sweeper.direction=[]: must be minimize, maximize, or a list of them")
        if len(direction) == 1:
            return _maximize(direction[0])  # a list of one is the single objective
        return [_maximize_one(entry, direction) for entry in direction]
    return _maximize_one(direction, direction)


def _maximize_one(entry: Any, direction: Any) -> bool:
    name = getattr(entry, "name", entry)  # the Optuna sweeper's Direction enum, or text
    if str(name).lower() not in _DIRECTIONS:
        if not isinstance(direction, (list, tuple)):
            raise SweeperConfigError(f"hydra.sweeper.direction={direction!r}: must be one of minimize, maximize")
        shown = [getattr(e, "name", e) for e in direction]
        raise SweeperConfigError(f"hydra.sweeper.direction={shown!r}: each direction must be minimize or "
                                 f"maximize, not {name!r}")
    return _DIRECTIONS[str(name).lower()]


def _map(result: Mapped, optuna_key: str, optuna_value: Any, key: str, value: Any) -> None:
    default = result.defaults[key]
    current = result.settings.get(key, default)
    if current != default and current != value:
        raise SweeperConfigError(
            f"hydra.sweeper.{optuna_key}={optuna_value!r} means {key}={value!r}, but "
            f"hydra.sweeper.{key}={current!r}: keep one of the two"
        )
    result.settings[key] = value
    result.mapped.append(f"{optuna_key}={optuna_value} -> {key}={_text(value)}")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_text, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- skopt-from-optuna: the same mapping, written into a config file --------------------------

CONVERTER = "skopt-from-optuna"


def convert(document: Dict[str, Any], defaults: Mapping[str, Any]) -> Tuple[Dict[str, Any], Mapped]:
    """An Optuna-sweeper config document (a parsed YAML file) as its skopt_gp equivalent.

    Raises
    ------
    SweeperConfigError
        ``defaults`` is not a list, ``hydra`` or ``hydra.sweeper`` not a mapping, or a key
        cannot be mapped (see :func:`from_optuna`).
    """
    converted = dict(document)
    converted["defaults"] = [_switch_sweeper(entry) for entry in _node(document, "defaults", list)]
    if not converted["defaults"]:
        del converted["defaults"]
    hydra_node = dict(_node(document, "hydra", dict))
    sweeper = {k: v for k, v in _node(hydra_node, "sweeper", dict, "hydra.").items() if k != "_target_"}
    mapped = from_optuna(sweeper, defaults)
    hydra_node["sweeper"] = {k: v for k, v in mapped.settings.items() if v is not None}
    converted["hydra"] = hydra_node
    return converted, mapped


def _node(document: Mapping[str, Any], key: str, kind: type, prefix: str = "") -> Any:
    """``document[key]`` (empty when absent), refused unless a list or a mapping as ``kind`` says."""
    value = document.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        what = "a list of config groups and files" if kind is list else "a mapping of config keys"
        raise SweeperConfigError(f"{prefix}{key}={value!r}: must be {what}, as Hydra reads it")
    return value


def _switch_sweeper(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {k: ("skopt_gp" if k in ("override /hydra/sweeper", "override hydra/sweeper") and v == "optuna" else v)
                for k, v in entry.items()}
    return entry


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``skopt-from-optuna FILE [-o OUT]``: write FILE's skopt_gp equivalent (stdout by default)."""
    import argparse
    import sys
    from pathlib import Path

    import yaml

    parser = argparse.ArgumentParser(
        prog=CONVERTER,
        description="Write the hydra/sweeper=skopt_gp equivalent of a config file written for "
                    "Hydra's Optuna sweeper (e.g. lightning-hydra-template's hparams_search/mnist_optuna.yaml).")
    parser.add_argument("file", help="the Optuna-sweeper config file (YAML)")
    parser.add_argument("-o", "--output", help="where to write the result (default: standard output)")
    args = parser.parse_args(argv)
    source = Path(args.file)
    try:
        text = source.read_text(encoding="utf-8")
        document = yaml.safe_load(text) or {}
        if not isinstance(document, dict):
            raise SweeperConfigError("not a mapping of config keys")
        converted, mapped = convert(document, sweeper_defaults())
        package = "# @package _global_\n" if text.lstrip().startswith("# @package _global_") else ""
        header = f"{package}# written by {CONVERTER} from {source.name}" + (f": {mapped.describe()}" if mapped.describe() else "") + "\n"
        output = header + yaml.safe_dump(converted, sort_keys=False)
        if args.output:
            Path(args.output).write_text(output, encoding="utf-8")
    except UnicodeDecodeError as error:
        return _fail(f"{source}: not a UTF-8 text file ({error.reason} at byte {error.start}); give the YAML config file")
    except (yaml.YAMLError, SweeperConfigError, ValueError, TypeError) as error:  # the file's content
        return _fail(f"{source}: {error}")
    except OSError as error:
        return _fail(f"{error.filename or source}: {error.strerror or error}")
    if args.output:
        print(f"Wrote {args.output} ({mapped.describe() or 'nothing to map'})", file=sys.stderr)
    else:
        sys.stdout.write(output)
    return 0


def _fail(message: str) -> int:
    """The converter's one-line error on stderr; exit status 2, as argparse's own."""
    import sys

    print(f"{CONVERTER}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(main())
