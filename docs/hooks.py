"""MkDocs hook: the config reference, generated from the settings schema at every build.

The one source is :mod:`hydra_skopt_sweeper.settings`: each field of ``SkoptSweeperConf`` and
``PrunerConf``, its default, the options of its Enum, and the comment written above it. A page
that holds the line ``<!-- config-reference -->`` gets the tables in its place. Tests import
:func:`config_reference` to check it lists every field.
"""
from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import typing
from typing import Any, Dict, List, Tuple

MARKER = "<!-- config-reference -->"
# fields Hydra needs that are not settings
_HIDDEN = ("_target_", "_recursive_", "defaults")


def _comments(cls: type) -> Dict[str, str]:
    """Each field of the dataclass ``cls`` -> the comment lines written just above it, joined;
    a field with none shares the one above (``device_override`` under ``devices``)."""
    import hydra_skopt_sweeper.settings as settings

    source = inspect.getsource(settings).splitlines()
    tree = ast.parse("\n".join(source))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    found: Dict[str, str] = {}
    for item in node.body:
        if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
            continue
        lines: List[str] = []
        index = item.lineno - 2
        while index >= 0 and source[index].strip().startswith("#"):
            lines.insert(0, source[index].strip().lstrip("#").strip())
            index -= 1
        found[item.target.id] = " ".join(lines)
    return found


def _value(value: Any) -> str:
    """A default as the YAML of a config file writes it."""
    if isinstance(value, enum.Enum):
        return value.name
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if dataclasses.is_dataclass(value):
        return "{" + ", ".join(f"{f.name}: {_value(getattr(value, f.name))}" for f in dataclasses.fields(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


def _options(annotation: Any) -> List[str]:
    """The closed choices of an Enum-typed field (Optional[Enum] included)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [member.name for member in candidate]
    return []


def rows(cls: type, prefix: str = "") -> List[Tuple[str, str, str]]:
    """(field, default, meaning) for each setting of ``cls``, the Optuna sweeper's keys as one
    row."""
    from hydra_skopt_sweeper.doors.optuna import OPTUNA_KEYS

    hints = typing.get_type_hints(cls)
    comments = _comments(cls)
    table: List[Tuple[str, str, str]] = []
    optuna: List[str] = []
    last = ""
    for field in dataclasses.fields(cls):
        if field.name in _HIDDEN:
            continue
        if field.name in OPTUNA_KEYS:
            optuna.append(field.name)
            last = comments.get(field.name) or last
            continue
        meaning = comments.get(field.name) or ""
        options = _options(hints[field.name])
        if options:
            meaning += f" One of: {', '.join(f'`{o}`' for o in options)}."
        default = _default(field)
        shown = "see below" if dataclasses.is_dataclass(default) else f"`{_value(default)}`"
        table.append((f"`{prefix}{field.name}`", shown, meaning.strip()))
    if optuna:
        table.append((", ".join(f"`{name}`" for name in optuna), "`null`", last))
    return table


def config_reference() -> str:
    """The Markdown tables of ``hydra.sweeper`` and ``hydra.sweeper.pruner``."""
    from hydra_skopt_sweeper.settings import PrunerConf, SkoptSweeperConf

    def table(entries: List[Tuple[str, str, str]]) -> str:
        lines = ["| field | default | meaning |", "| --- | --- | --- |"]
        lines += [f"| {name} | {default} | {meaning.replace('|', '&#124;')} |" for name, default, meaning in entries]
        return "\n".join(lines)

    return ("## `hydra.sweeper`\n\n" + table(rows(SkoptSweeperConf))
            + "\n\n## `hydra.sweeper.pruner`\n\n" + table(rows(PrunerConf, "pruner.")) + "\n")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, config_reference()) if MARKER in markdown else markdown
