"""The search space: Hydra sweep syntax and skopt dimension specs in, skopt dimensions out.

This module owns the translation in both directions:

* ``build_search_space`` reads ``hydra.sweeper.params`` and the command-line overrides and
  returns a :class:`SearchSpace`: one :class:`Param` per swept key, plus the overrides that
  every trial receives unchanged. What the command line says of a key wins, as with Hydra's
  own sweepers: a sweep replaces the configured one, a plain value pins the key (not
  searched); the conditions the fixed values alone decide are decided then.
* a :class:`SearchSpace` turns a skopt point into a plain-Python params dict, a params dict
  into Hydra override strings, and a params dict (from a journal) back into a skopt point.

Accepted forms (the strings the Optuna and Nevergrad sweepers accept):

==========================  ============================================================
``interval(a, b)``          Real(a, b)
``int(interval(a, b))``     Integer(a, b), both ends included
``tag(log, ...)``           the same with a log-uniform prior (needs a > 0)
``range(a, b, step)``       the exact grid of Hydra's ``range`` (end excluded); a step
                            other than 1, or a float step, is searched as an index into
                            the grid so every proposal lies on it
``choice(a, b)``, ``a,b``   Categorical, config-group options included
mapping                     ``{type: real|int|categorical, low, high, prior, choices}``
==========================  ============================================================

A single-valued choice or range is not searched: it is passed to every trial. Every bound is
finite (an integer's within +-2**53, a real range's width within float range), a grid has at most
:data:`MAX_GRID_POINTS` points, an option holds no inf or nan, and no key is Hydra's own
(``hydra.*``): anything else is refused before launch, naming the parameter.
"""
from __future__ import annotations

import decimal
import math
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
)
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf
from skopt.space import Categorical, Dimension, Integer, Real, Space

from ..errors import SweeperConfigError
from .constraint import Constraint, check_satisfiable, compile_constraint

REAL, INT, GRID, CATEGORICAL = "real", "int", "grid", "categorical"
_PRIORS = ("uniform", "log-uniform")
_SPEC_TYPES = {"real": REAL, "float": REAL, "int": INT, "integer": INT, "categorical": CATEGORICAL}
_SPEC_KEYS = {"type", "low", "high", "prior", "choices", "when", "sweep"}
# A string that Hydra's grammar reads back as the same string without quotes.
_BARE_STRING = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-./]*$")
_GRAMMAR_WORDS = {"true", "false", "null", "nan", "inf", "+inf", "-inf"}
# Random points drawn to check, before any launch, that the constraint can be met.
_SATISFIABILITY_SAMPLES = 20000
# An integer range's ends: every integer up to this size is exact in the model's float64
# coordinates, and skopt draws from it with numpy's int64
INT_BOUND = 2**53
# A grid's points (range with a step): each is listed in search_space.json and the journal
MAX_GRID_POINTS = 100_000


def format_value(value: Any) -> str:
    """The text of ``value`` in a Hydra override, read back by Hydra as the same value.

    Floats use Python's shortest round-trip ``repr``, so no digit is lost; strings are quoted
    only where the grammar would otherwise read them as something else.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        if _BARE_STRING.match(value) and value.lower() not in _GRAMMAR_WORDS:
            return value
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a Hydra override")


def to_plain(value: Any) -> Any:
    """numpy scalars (np.int64, np.float64, np.str_, np.bool_) -> the Python builtin."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if isinstance(value, str):
        return str(value)
    return value


@dataclass(frozen=True)
class Param:
    """One swept key and how its values map to a skopt dimension.

    ``choices`` holds the plain values of a categorical or grid parameter and ``labels`` their
    override text (for a categorical, the skopt categories are the labels, so the user's own
    spelling of each option is what a trial receives).
    """

    name: str
    override_key: str
    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: Tuple[Any, ...] = ()
    labels: Tuple[str, ...] = ()
    source: str = ""
    # a condition on the other parameters and the fixed values: searched and passed to the
    # trial only where it holds (None: always)
    when: Optional[str] = None

    def dimension(self) -> Dimension:
        prior = "log-uniform" if self.log else "uniform"
        if self.kind == REAL:
            return Real(self.low, self.high, prior=prior, name=self.name)
        if self.kind == INT:
            return Integer(self.low, self.high, prior=prior, name=self.name)
        if self.kind == GRID:
            return Integer(0, len(self.choices) - 1, name=self.name)
        return Categorical(list(self.labels), name=self.name)

    def value_of(self, x: Any) -> Any:
        """skopt coordinate -> the plain value a trial receives."""
        x = to_plain(x)
        if self.kind == REAL:
            return float(x)
        if self.kind == INT:
            return int(x)
        if self.kind == GRID:
            return self.choices[int(x)]
        return self.choices[self.labels.index(str(x))]

    def x_of(self, value: Any) -> Any:
        """A plain value (e.g. read from a journal) -> its skopt coordinate.

        Raises ``ValueError`` when the value is not in this parameter's space.
        """
        if self.kind in (REAL, INT):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}={value!r} is not a number")
            if not self.low <= value <= self.high:
                raise ValueError(f"{self.name}={value!r} is outside [{self.low}, {self.high}]")
            if self.kind == INT:
                if value != int(value):
                    raise ValueError(f"{self.name}={value!r} is not an integer")
                return int(value)
            return float(value)
        index = self.index_of(value)
        return index if self.kind == GRID else self.labels[index]

    def index_of(self, value: Any) -> int:
        """The position of ``value`` among the choices, matched by type as well as value
        (``True == 1`` and ``0 == 0.0`` in Python, but they are different options here)."""
        for index, choice in enumerate(self.choices):
            if type(choice) is type(value) and choice == value:
                return index
        raise ValueError(f"{self.name}={value!r} is not one of {list(self.choices)}")

    def inactive_x(self) -> Any:
        """The coordinate a conditional parameter takes where its condition does not hold: one
        fixed value, so that points differing only there are one point to the model."""
        if self.kind in (REAL, INT):
            return self.low
        return 0 if self.kind == GRID else self.labels[0]

    def override(self, value: Any) -> str:
        if self.kind == CATEGORICAL:
            return f"{self.override_key}={self.labels[self.index_of(value)]}"
        return f"{self.override_key}={format_value(value)}"

    def describe(self) -> Dict[str, Any]:
        """A JSON-able description; two sweeps with equal descriptions search the same space."""
        described: Dict[str, Any] = {"kind": self.kind, "override_key": self.override_key}
        if self.kind in (REAL, INT):
            described.update(low=self.low, high=self.high, log=self.log)
        else:
            described.update(choices=list(self.choices), labels=list(self.labels))
        if self.when is not None:
            described["when"] = self.when
        return described

    @classmethod
    def from_description(cls, name: str, described: Mapping[str, Any]) -> "Param":
        """Inverse of :meth:`describe` (used to read a sweep dir back, e.g. by the report)."""
        return cls(
            name=name,
            override_key=described.get("override_key", name),
            kind=described["kind"],
            low=described.get("low"),
            high=described.get("high"),
            log=bool(described.get("log", False)),
            choices=tuple(described.get("choices", ())),
            labels=tuple(described.get("labels", ())),
            when=described.get("when"),
        )


@dataclass(frozen=True)
class CommandLineChange:
    """A key swept in ``hydra.sweeper.params`` that the command line pinned or replaced."""

    argument: str  # as written on the command line, e.g. ``y=0``
    configured: str  # e.g. ``hydra.sweeper.params.y=choice(-5, 0, 5)``


@dataclass
class SearchSpace:
    """The swept parameters, in a fixed order, and what every trial receives unchanged.

    ``pinned`` and ``replaced`` name the keys ``hydra.sweeper.params`` sweeps that the command
    line fixed to one value, or swept otherwise; ``decided`` the conditional parameters whose
    condition the fixed values alone decide (searched unconditionally, or not at all).
    """

    params: List[Param]
    fixed_overrides: List[str] = field(default_factory=list)
    fixed_values: Dict[str, Any] = field(default_factory=dict)
    pinned: Dict[str, CommandLineChange] = field(default_factory=dict)
    replaced: Dict[str, CommandLineChange] = field(default_factory=dict)
    decided: Dict[str, Tuple[str, bool]] = field(default_factory=dict)  # name -> (when, holds)
    _conditions: Dict[str, Constraint] = field(default_factory=dict, repr=False, compare=False)

    @property
    def names(self) -> List[str]:
        return [p.name for p in self.params]

    @property
    def options(self) -> Dict[str, List[str]]:
        """The options of the choice and grid parameters as text, by name (for the constraint
        compiler's hint that a bare word needs quotes)."""
        return {p.name: [str(c) for c in p.choices] for p in self.params if p.choices}

    @property
    def conditional(self) -> bool:
        return any(p.when is not None for p in self.params)

    def dimensions(self) -> List[Dimension]:
        return [p.dimension() for p in self.params]

    def to_params(self, point: Sequence[Any]) -> Dict[str, Any]:
        """The values a trial receives: every parameter whose condition holds, in order (the
        conditions are judged on the unconditional parameters and the conditional ones before)."""
        values = {p.name: p.value_of(x) for p, x in zip(self.params, point) if p.when is None}
        for p, x in zip(self.params, point):
            if p.when is not None and self._holds(p, values):
                values[p.name] = p.value_of(x)
        return {p.name: values[p.name] for p in self.params if p.name in values}

    def to_point(self, params: Mapping[str, Any]) -> List[Any]:
        """Inverse of :meth:`to_params`; ``ValueError`` when a value does not fit the space.
        A conditional parameter without a value takes its inactive coordinate."""
        missing = [p.name for p in self.params if p.name not in params and p.when is None]
        if missing:
            raise ValueError(f"no value for {', '.join(missing)}")
        return [p.x_of(params[p.name]) if p.name in params else p.inactive_x() for p in self.params]

    def canonical(self, point: Sequence[Any]) -> List[Any]:
        """``point`` with every inactive conditional coordinate at its inactive value."""
        return self.to_point(self.to_params(point))

    def to_overrides(self, params: Mapping[str, Any]) -> List[str]:
        return self.fixed_overrides + [p.override(params[p.name]) for p in self.params if p.name in params]

    def full_params(self, point: Sequence[Any]) -> Dict[str, Any]:
        """What a trial's config holds of the space: the fixed values and ``point``'s params."""
        return {**self.fixed_values, **self.to_params(point)}

    def compile_constraint(self, source: Union[None, str, Callable[[Dict[str, Any]], Any]]) -> Optional[Constraint]:
        """``hydra.sweeper.constraint`` (or a Python door's callable) over this space, checked
        to be satisfiable here.

        Raises
        ------
        SweeperConfigError
            It does not compile, names a conditional parameter, or nothing in the space meets it.
        """
        constraint = compile_constraint(source, list(self.fixed_values) + self.names, self.options)
        if constraint is None:
            return None
        conditional = [p.name for p in self.params if p.when is not None and p.name in getattr(constraint, "names", ())]
        if conditional:
            raise SweeperConfigError(
                f"{constraint.field}={constraint.source!r} names {', '.join(conditional)}, which "
                "is conditional (when: ...) and has no value where its condition does not hold; put "
                "that restriction in its range or its condition"
            )
        pins = [change.argument for key, change in self.pinned.items() if key in getattr(constraint, "names", ())]
        # the pin, not the constraint, is what the user just changed: the refusal names it
        because = f"{' and '.join(pins)} pinned on the command line" if pins else None
        if not self.params:
            if not constraint(dict(self.fixed_values)):
                raise SweeperConfigError(
                    f"{constraint.field}={constraint.source!r}: the fixed values "
                    f"{self.fixed_values} do not satisfy it"
                    + (f" ({because}); pin a value the constraint allows, or loosen it" if because else "")
                )
            return constraint
        samples = Space(self.dimensions()).rvs(n_samples=_SATISFIABILITY_SAMPLES, random_state=np.random.RandomState(0))
        check_satisfiable(constraint, (self.full_params(p) for p in samples), because=because)
        return constraint

    def check_conditions(self) -> None:
        """Compile every condition now, so that a bad one stops the sweep before any trial."""
        for p in self.params:
            if p.when is not None:
                self._condition(p)

    def _holds(self, param: Param, active: Mapping[str, Any]) -> bool:
        condition = self._condition(param)
        values = {**self.fixed_values, **active}
        # a condition on a parameter that is itself inactive here does not hold
        return all(name in values for name in condition.names) and condition(values)

    def _condition(self, param: Param) -> Constraint:
        if param.name not in self._conditions:
            conditional = [p.name for p in self.params if p.when is not None]
            names = [p.name for p in self.params if p.when is None] + conditional[: conditional.index(param.name)]
            field_name = f"hydra.sweeper.params.{param.name}.when"
            try:
                condition = compile_constraint(param.when, list(self.fixed_values) + names, self.options)
            except SweeperConfigError as error:
                message = str(error).split(": ", 1)[-1]
                raise SweeperConfigError(
                    f"{field_name}={param.when!r}: {message} (a condition may name the unconditional "
                    "parameters, the conditional ones written before it, and the fixed values)"
                ) from None
            if not hasattr(condition, "names"):
                raise SweeperConfigError(f"{field_name}={param.when!r}: must be an expression, not a dotted path")
            self._conditions[param.name] = condition
        return self._conditions[param.name]

    def decide_conditions(self) -> "SearchSpace":
        """This space without the conditions that the fixed values alone decide: a parameter
        whose condition holds for them is searched unconditionally, one whose condition fails
        (or names a parameter that is never searched) is not searched at all."""
        never: set = set()
        params: List[Param] = []
        decided: Dict[str, Tuple[str, bool]] = {}
        for p in self.params:
            if p.when is not None:
                names = self._condition(p).names
                if any(name in never for name in names):
                    decided[p.name] = (p.when, False)
                elif all(name in self.fixed_values for name in names):
                    decided[p.name] = (p.when, bool(self._condition(p)(self.fixed_values)))
                if p.name in decided:
                    if decided[p.name][1]:
                        params.append(replace(p, when=None))
                    else:
                        never.add(p.name)
                    continue
            params.append(p)
        if not decided:
            return self
        return replace(self, params=params, decided=decided, _conditions={})

    def command_line_notes(self) -> List[str]:
        """What the command line changed of the configured space, one line each, for the log."""
        notes = [f"{key}: pinned to {change.argument!r} by the command line, not searched "
                 f"(configured: {change.configured})" for key, change in self.pinned.items()]
        notes += [f"{key}: searched as {change.argument!r} from the command line (configured: "
                  f"{change.configured})" for key, change in self.replaced.items()]
        for name, (when, holds) in self.decided.items():
            notes.append(f"{name}: its condition {when!r} {'always' if holds else 'never'} holds "
                         f"with the fixed values, so it is {'searched unconditionally' if holds else 'not searched'}")
        return notes

    def describe(self) -> Dict[str, Dict[str, Any]]:
        return {p.name: p.describe() for p in self.params}

    def describe_pins(self) -> Dict[str, str]:
        """The command line's pins, as written; a resumed sweep must keep them."""
        return {key: change.argument for key, change in self.pinned.items()}

    @classmethod
    def from_description(cls, described: Mapping[str, Mapping[str, Any]]) -> "SearchSpace":
        return cls(params=[Param.from_description(n, d) for n, d in described.items()])


def build_search_space(
    params: Optional[Mapping[str, Any]],
    arguments: Sequence[str],
    parser: Optional[OverridesParser] = None,
) -> SearchSpace:
    """Build the space from ``hydra.sweeper.params`` and the command-line overrides.

    Parameters
    ----------
    params : mapping
        ``hydra.sweeper.params``: name -> sweep string, plain value, or skopt spec mapping.
    arguments : list of str
        The command-line overrides. What the command line says of a key wins over ``params``,
        as with Hydra's own sweepers: a sweep replaces the configured one, a plain value pins
        the key for this sweep (it is not searched; every trial receives it). Both are listed
        in the space's ``replaced`` and ``pinned``.
    parser : OverridesParser, optional
        Hydra's parser; pass the one built with the app's config loader so that glob choices
        over config groups resolve.

    Raises
    ------
    SweeperConfigError
        For anything that cannot be searched, naming the key, the value and what is allowed.
    """
    parser = parser or OverridesParser.create()
    entries: Dict[str, Tuple[str, Any]] = {}  # key -> (where it came from, Override or spec)

    for name, value in (params or {}).items():
        field_name = f"hydra.sweeper.params.{name}"
        _refuse_hydra_key(str(name), value, field_name)
        if isinstance(value, (DictConfig, dict)):
            entries[name] = (field_name, _spec_to_param(name, value, field_name, parser))
            continue
        if isinstance(value, (ListConfig, list)):
            raise SweeperConfigError(
                f"{field_name}={list(value)!r}: a list is ambiguous here; write "
                f"choice({', '.join(map(str, value))}) to search over these values"
            )
        text = value if isinstance(value, str) else format_value(value)
        entries[name] = (field_name, _parse(parser, f"{name}={text}", field_name))

    configured = {key: _configured_text(where, entry) for key, (where, entry) in entries.items()
                  if isinstance(entry, Param) or entry.is_sweep_override()}
    seen_on_command_line: Dict[str, str] = {}
    for argument in arguments:
        override = _parse(parser, argument, "command line override")
        key = override.key_or_group
        if key in seen_on_command_line:
            raise SweeperConfigError(
                f"{key} is given twice on the command line ({seen_on_command_line[key]!r} and "
                f"{argument!r}); a parameter is either fixed or swept, once"
            )
        seen_on_command_line[key] = argument
        entries[key] = ("command line", override)

    space = SearchSpace(params=[])
    for key, (where, entry) in entries.items():
        param = entry if isinstance(entry, Param) else _override_to_param(entry, where)
        if param is not None:
            space.params.append(param)
        else:
            space.fixed_overrides.append(_fixed_override_text(entry))
            _remember_fixed(space, entry)
        if key in configured and where == "command line":
            change = space.replaced if param is not None else space.pinned
            change[key] = CommandLineChange(seen_on_command_line[key], configured[key])
    return space.decide_conditions()


def _configured_text(where: str, entry: Any) -> str:
    """How ``hydra.sweeper.params`` sweeps a key, for the log line that says the command line
    changed it."""
    written = entry.source if isinstance(entry, Param) else entry.input_line or ""
    return f"{where}={written.split('=', 1)[-1]}"


def _refuse_hydra_key(name: str, value: Any, field_name: str) -> None:
    """Hydra's own settings are not trial parameters: a trial's ``hydra.sweep.subdir`` could put
    its job dir outside the sweep dir (Hydra refuses sweeping over them on the command line)."""
    key = name.lstrip("+~")
    if key == "hydra" or key.startswith(("hydra.", "hydra/")):
        shown = OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value
        raise SweeperConfigError(
            f"{field_name}={shown!r}: must not be a hydra.* key: Hydra's own configuration is "
            "not a trial parameter and cannot be swept (Hydra refuses it on the command line "
            "too); set it once, under hydra: in the config or as a plain override on the "
            "command line"
        )


def _parse(parser: OverridesParser, text: str, where: str) -> Override:
    try:
        return parser.parse_override(text)
    except HydraException as error:
        message = str(error).strip().splitlines()[0]
        raise SweeperConfigError(f"{where}: cannot parse {text!r}: {message}") from None


def _fixed_override_text(override: Override) -> str:
    if override.is_sweep_override():
        # a single-valued choice or range
        (only,) = list(override.sweep_string_iterator())
        return f"{override.get_key_element()}={only}"
    if override.input_line is not None:
        return override.input_line  # as the user wrote it, `~key` deletions included
    return f"{override.get_key_element()}={override.get_value_element_as_str()}"


def _remember_fixed(space: SearchSpace, override: Override) -> None:
    if override.is_delete():
        return
    if override.is_sweep_override():
        (value,) = list(override.sweep_iterator(transformer=Override._convert_value))
    else:
        value = override.value()
    space.fixed_values[override.key_or_group] = value


def _override_to_param(override: Override, where: str) -> Optional[Param]:
    """A sweep override -> its Param; ``None`` for a plain or single-valued one."""
    if not override.is_sweep_override():
        return None
    name = override.key_or_group
    key = override.get_key_element()
    source = override.input_line or f"{key}=..."
    sweep = override.value()
    log = "log" in getattr(sweep, "tags", set())
    field_name = f"{where} {source!r}" if where == "command line" else where

    if isinstance(sweep, IntervalSweep):
        is_int = isinstance(sweep.start, int) and isinstance(sweep.end, int)
        return _bounded(name, key, INT if is_int else REAL, sweep.start, sweep.end, log,
                        field_name, source)

    if isinstance(sweep, RangeSweep):
        written = f"range({sweep.start}, {sweep.stop}, {sweep.step})"
        count = _range_length(sweep, field_name)
        if count == 0:
            raise SweeperConfigError(
                f"{field_name}: {written} is empty; Hydra's range excludes its end, so it needs "
                "start < stop for a positive step and start > stop for a negative one"
            )
        if count == 1:
            return None
        steps_by_one = _integers(sweep.start, sweep.stop, sweep.step) and sweep.step == 1
        if log:
            if not steps_by_one:
                raise SweeperConfigError(
                    f"{field_name}: tag(log, range(...)) needs an integer range with step 1; "
                    "for a log-scaled grid write choice(...) or tag(log, int(interval(a, b)))"
                )
            return _bounded(name, key, INT, sweep.start, sweep.stop - 1, True, field_name, source)
        if steps_by_one:
            return _bounded(name, key, INT, sweep.start, sweep.stop - 1, False, field_name, source)
        if count > MAX_GRID_POINTS:
            raise SweeperConfigError(
                f"{field_name}: {written} has {count} points; a grid must have at most "
                f"{MAX_GRID_POINTS}; search the range itself with interval(a, b) or "
                "int(interval(a, b)), or take a larger step"
            )
        values = _range_values(sweep)
        return Param(name, key, GRID, choices=tuple(values),
                     labels=tuple(format_value(v) for v in values), source=source)

    if isinstance(sweep, ChoiceSweep) or override.is_choice_sweep():
        if log:
            raise SweeperConfigError(f"{field_name}: tag(log, ...) does not apply to a choice")
        elements = list(override.sweep_iterator())
        if not elements:
            raise SweeperConfigError(f"{field_name}: choice() needs at least one option")
        if len(elements) == 1:
            return None
        values = tuple(Override._convert_value(e) for e in elements)
        _refuse_non_finite_options(values, field_name)
        labels = tuple(_label(v) for v in values)
        if len(set(labels)) != len(labels):
            raise SweeperConfigError(f"{field_name}: the options {list(labels)} repeat a value")
        return Param(name, key, CATEGORICAL, choices=values, labels=labels, source=source)

    raise SweeperConfigError(f"{field_name}: unsupported sweep {source!r}")


def _refuse_non_finite_options(options: Sequence[Any], field_name: str) -> None:
    """inf and nan cannot be options: the journal (JSON) cannot record them, and nan equals
    nothing, not even itself, so a trial's value could not be matched to its option."""
    def non_finite(value: Any) -> bool:
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, (list, tuple, ListConfig)):
            return any(non_finite(v) for v in value)
        if isinstance(value, (dict, DictConfig)):
            return any(non_finite(v) for v in value.values())
        return False

    for option in options:
        if non_finite(option):
            raise SweeperConfigError(
                f"{field_name}: the option {_label(option)} must hold finite numbers only (the "
                "journal cannot record inf or nan); write a large finite number such as 1e308, "
                "or a string the app maps to it, e.g. 'inf'"
            )


def _label(value: Any) -> str:
    """Override text of a choice option: scalars quoted as needed, lists and dicts as Hydra does."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return format_value(value)
    return Override._get_value_element_as_str(value)


def _integers(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _range_length(sweep: RangeSweep, field_name: str) -> int:
    """How many values Hydra's range has, computed without listing them."""
    start, stop, step = sweep.start, sweep.stop, sweep.step
    written = f"range({start}, {stop}, {step})"
    if step == 0:
        raise SweeperConfigError(f"{field_name}: {written}: the step must not be 0; "
                                 "write a positive step, or a negative one for a falling range")
    if _integers(start, stop, step):  # len(range(...)) overflows past sys.maxsize
        return max(0, (stop - start + step - (1 if step > 0 else -1)) // step)
    for what, value in (("start", start), ("stop", stop), ("step", step)):
        if not _finite_float(value):
            raise SweeperConfigError(f"{field_name}: {what}={value} must be a finite number; "
                                     f"write {written} with finite numbers")
    current, end, delta = (decimal.Decimal(repr(float(v))) for v in (start, stop, step))
    return max(0, math.ceil((end - current) / delta))


def _range_values(sweep: RangeSweep) -> List[Any]:
    """Hydra's range, with float grids computed in decimal from the numbers as written.

    Hydra's own float range starts from the binary value of each float, so
    ``range(0.1, 0.5, 0.1)`` would give 0.30000000000000004; this gives 0.3.
    """
    start, stop, step = sweep.start, sweep.stop, sweep.step
    if _integers(start, stop, step):
        return list(range(start, stop, step))
    current, end, delta = (decimal.Decimal(repr(float(v))) for v in (start, stop, step))
    values: List[Any] = []
    while (current < end) if delta > 0 else (current > end):
        values.append(float(current))
        current += delta
    return values


def _finite_float(value: Any) -> bool:
    """A number that converts to a finite float (ints too large for a float do not)."""
    try:
        return math.isfinite(float(value))
    except (OverflowError, TypeError, ValueError):
        return False


def _check_bounds(kind: str, low: Any, high: Any, field_name: str) -> None:
    """The ends of a real or integer range can be searched: finite, and within what the
    model's float64 coordinates and skopt's int64 draws hold."""
    for bound, value in (("low", low), ("high", high)):
        if kind == INT:
            if not -INT_BOUND <= value <= INT_BOUND:
                raise SweeperConfigError(
                    f"{field_name}: {bound}={value} must be an integer within +-2**53 "
                    f"({INT_BOUND}); for a wider range search a real, e.g. "
                    "tag(log, interval(1, 1e30)), and round it in the app"
                )
        elif not _finite_float(value):
            raise SweeperConfigError(
                f"{field_name}: {bound}={value} must be a finite number; give both ends, e.g. "
                "interval(0, 1e6), or tag(log, interval(1e-6, 1e6)) for many orders of magnitude"
            )
    if kind == REAL and not math.isfinite(float(high) - float(low)):
        raise SweeperConfigError(
            f"{field_name}: high - low = {high} - ({low}) must be a finite number (at most "
            f"{sys.float_info.max:.4g}); narrow the range, or search a positive one on a log "
            "scale with tag(log, interval(a, b))"
        )


def _bounded(
    name: str, key: str, kind: str, low: Any, high: Any, log: bool, field_name: str, source: str
) -> Param:
    _check_bounds(kind, low, high, field_name)
    if not low < high:
        raise SweeperConfigError(
            f"{field_name}: low={low} must be smaller than high={high}; "
            "for a single value write it as a plain override"
        )
    if log and low <= 0:
        raise SweeperConfigError(
            f"{field_name}: a log scale needs low > 0, got low={low}; "
            "shift the range or drop tag(log, ...)"
        )
    return Param(name, key, kind, low=low, high=high, log=log, source=source)


def _spec_to_param(name: str, spec: Mapping[str, Any], field_name: str, parser: OverridesParser) -> Param:
    """``{type, low, high, prior, choices}`` or ``{sweep}``, each with an optional ``when`` -> Param."""
    spec = OmegaConf.to_container(spec, resolve=True) if isinstance(spec, DictConfig) else dict(spec)
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise SweeperConfigError(
            f"{field_name}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}"
        )
    when = spec.pop("when", None)
    if when is not None and (not isinstance(when, str) or not when.strip()):
        raise SweeperConfigError(f"{field_name}.when={when!r}: must be an expression, e.g. \"optimizer == 'sgd'\"")
    if "sweep" in spec:
        if set(spec) != {"sweep"}:
            raise SweeperConfigError(
                f"{field_name}: sweep takes the place of {sorted(set(spec) - {'sweep'})}; write one or the other"
            )
        text = spec["sweep"] if isinstance(spec["sweep"], str) else format_value(spec["sweep"])
        param = _override_to_param(_parse(parser, f"{name}={text}", f"{field_name}.sweep"), f"{field_name}.sweep")
        if param is None:
            raise SweeperConfigError(
                f"{field_name}.sweep={spec['sweep']!r}: not a sweep (interval, range, choice with two or more options)"
            )
    else:
        param = _typed_spec_to_param(name, spec, field_name)
    return replace(param, when=when) if when is not None else param


def _typed_spec_to_param(name: str, spec: Mapping[str, Any], field_name: str) -> Param:
    """``{type, low, high, prior, choices}`` -> Param."""
    kind_text = str(spec.get("type", "")).lower()
    if kind_text not in _SPEC_TYPES:
        raise SweeperConfigError(
            f"{field_name}.type={spec.get('type')!r}: must be one of real, int, categorical"
        )
    kind = _SPEC_TYPES[kind_text]

    if kind == CATEGORICAL:
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SweeperConfigError(
                f"{field_name}.choices={choices!r}: a categorical needs a non-empty list of choices"
            )
        if "low" in spec or "high" in spec or "prior" in spec:
            raise SweeperConfigError(
                f"{field_name}: a categorical takes only choices, not low/high/prior"
            )
        _refuse_non_finite_options(choices, f"{field_name}.choices")
        labels = tuple(_label(c) for c in choices)
        if len(set(labels)) != len(labels):
            raise SweeperConfigError(f"{field_name}.choices={choices!r} repeats a value")
        return Param(name, name, CATEGORICAL, choices=tuple(choices), labels=labels,
                     source=f"{name}=choice({', '.join(labels)})")

    if "choices" in spec:
        raise SweeperConfigError(f"{field_name}: choices belongs to type: categorical only")
    prior = spec.get("prior", "uniform")
    if prior not in _PRIORS:
        raise SweeperConfigError(
            f"{field_name}.prior={prior!r}: must be one of {', '.join(_PRIORS)}"
        )
    for bound in ("low", "high"):
        value = spec.get(bound)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SweeperConfigError(f"{field_name}.{bound}={value!r}: must be a number")
        if not _finite_float(value):
            raise SweeperConfigError(f"{field_name}.{bound}={value!r}: must be a finite number; "
                                     "give both ends of the range, e.g. low: 0, high: 1e6")
        if kind == INT and value != int(value):
            raise SweeperConfigError(f"{field_name}.{bound}={value!r}: type int needs integer bounds")
    low, high = spec["low"], spec["high"]
    if kind == INT:
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    log = prior == "log-uniform"
    # shown in the sweep grammar: the log's start-up line reads the same for either way of writing it
    grammar = f"interval({format_value(low)}, {format_value(high)})"
    grammar = f"int({grammar})" if kind == INT else grammar
    return _bounded(name, name, kind, low, high, log, field_name,
                    f"{name}=" + (f"tag(log, {grammar})" if log else grammar))
