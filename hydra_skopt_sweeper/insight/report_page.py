"""One self-contained page of a sweep: ``report.html`` in its sweep dir.

It owns :func:`write_page` and what the page shows: the objectives and their directions, the
sweep's progress, the best trial (with several objectives, the Pareto front's solutions) and the
model's recommendation with the overrides that rerun each, the parameters' importance, every
picture :mod:`.pictures` drew, and every trial in a table that sorts by any column and filters by
text and by status. Everything is in the one file: its style and its script inline, the
pictures as base64 ``data:`` URIs, nothing fetched from anywhere, so that it opens from
``file://`` on a cluster's shared filesystem with no network. Every text from the sweep is
escaped, and no data is embedded as script.

The drawing process (:mod:`.plot_refresher`) writes it after each drawing while the sweep runs
(``live``: the page reloads itself every :data:`REFRESH_S` seconds, keeping its sorting and
filter) and once more when the sweep has ended or its sweeper died;
``skopt-report --html`` writes it for any sweep dir. It reads the sweep through
:mod:`.sweep_record` and the text report's override and recommendation lines through
:mod:`.sweep_report`; never :mod:`..sweep.loop`.
"""
from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Sequence, Set

from ..records.journal import Trial
from ..records.sweep_dir import REPORT, atomic_write_text
from .pictures import picture_names
from .pictures.front import reference_origin
from .ranking import ModelPick, model_pick, override_line, rank_trials
from .sweep_record import SweepRecord, direction_word, is_finite_number

# how often a live page reloads itself
REFRESH_S = 15

# the statuses a trial's row can have, in the status selector's order
STATUSES = ("ok", "pruned", "failed", "infeasible")


def write_page(record: SweepRecord, *, importance: Optional[Sequence[Any]], live: bool,
               out_dir: Optional[Path] = None) -> Path:
    """Write ``report.html`` atomically into ``out_dir`` (the sweep dir by default), with the
    pictures found there; ``importance``: :func:`.importance.importance_of`'s list (None or
    empty: no importance section); ``live``: the sweep still runs and the page reloads itself.
    Returns the page's path."""
    out_dir = Path(out_dir) if out_dir is not None else record.sweep_dir
    return atomic_write_text(out_dir / REPORT, render_page(record, importance=importance, live=live,
                                                           pictures_dir=out_dir))


def render_page(record: SweepRecord, *, importance: Optional[Sequence[Any]], live: bool,
                pictures_dir: Optional[Path] = None) -> str:
    """The page's HTML; the pictures are read from ``pictures_dir`` (the sweep dir by default)."""
    title = f"{_objectives_label(record)}: {record.sweep_dir.name or record.sweep_dir}"
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">\n' if live else ""
    sections = [
        _header(record, live),
        _best_section(record),
        _importance_section(importance or ()),
        _pictures_section(record, Path(pictures_dir) if pictures_dir is not None else record.sweep_dir),
        _trials_section(record),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{refresh}'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'  # no favicon request, from file:// or elsewhere
            f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(s for s in sections if s)
            + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")


# -- the sections -------------------------------------------------------------------------------


def _header(record: SweepRecord, live: bool) -> str:
    trials = record.trials
    written = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if live:
        state, words = "running", f"live: the sweep is running; this page reloads every {REFRESH_S} s"
    elif record.complete:
        state, words = "finished", ("finished: the search space is exhausted, every allowed point was tried"
                                    if record.exhausted else "finished")
    else:
        state, words = "stopped", (f"stopped after {len(trials)} of n_calls={record.n_calls} trials "
                                   "(killed, stopped early, or still running; the same command resumes it)")
    counts = [f"{len(trials)} trial(s)" + (f" of n_calls={record.n_calls}" if record.n_calls is not None else ""),
              f"{sum(1 for t in trials if t.ok)} completed", f"{record.n_failed} failed", f"{record.n_pruned} pruned"]
    if record.constraints is not None:
        counts.append(f"{len(record.infeasible)} infeasible")
    if record.n_batches:
        counts.append(f"{record.n_batches} batch(es)")
    lines = [f'<h1>{_e(_objectives_label(record))}</h1>',
             f'<p class="sweep-dir">{_e(str(record.sweep_dir.resolve()))}</p>',
             f'<p id="state" class="state {state}">{_e(words)} <span class="when">(written {_e(written)})</span></p>',
             f'<p id="progress">{_e(", ".join(counts))}</p>']
    if record.constraints is not None:
        lines.append(f"<p>Metric constraints {_e(record.constraints.describe())}: the best trial is the best "
                     "feasible one; the infeasible trials are marked in the table.</p>")
    return "<header>\n" + "\n".join(lines) + "\n</header>"


def _best_section(record: SweepRecord) -> str:
    if record.several:
        return _front_section(record)
    best = record.best()
    feasible = "" if record.constraints is None else " feasible"
    if best is None:
        return (f'<section id="best"><h2>Best{feasible} trial</h2><p>No '
                f'{"successful" if record.constraints is None else "feasible"} trial yet.</p></section>')
    parts = [f'<section id="best"><h2>Best{feasible} trial</h2>',
             f"<p>Trial #{best.number}: {_e(record.objective_name)} = <b>{_e(_number(best.value))}</b>"
             f"{_job_dir_sentence(record, best)}</p>",
             _override_block(override_line(record, best.params))]
    parts.extend(_pick_parts(record, model_pick(record, best)))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _front_section(record: SweepRecord) -> str:
    front = record.front()
    solutions = front.solutions
    done = "completed" if record.constraints is None else "feasible"
    if not solutions:
        return f'<section id="best"><h2>Pareto front</h2><p>No {done} trial yet.</p></section>'
    objectives = record.objectives
    reference = ", ".join(_number(v) for v in front.reference_values or [])
    solutions = sorted(solutions, key=lambda t: (objectives.losses(t.values)[0], t.number))
    header = "".join(f"<th>{_e(objectives.labelled(i))}</th>" for i in range(objectives.count))
    rows = "\n".join(
        f"<tr><td>#{t.number}</td>" + "".join(f"<td class=\"num\">{_e(_number(v))}</td>" for v in t.values or [])
        + f"<td>{_override_block(override_line(record, t.params))}</td></tr>" for t in solutions)
    return (f'<section id="best"><h2>Pareto front</h2>\n<p>{len(solutions)} of {len(front.trials)} {done} '
            f"trial(s) on the front; hypervolume {_e(_number(front.hypervolume))} from the reference point "
            f"({_e(reference)}), {_e(reference_origin(record))}. Each solution's overrides rerun it.</p>\n"
            f'<table class="front"><thead><tr><th>trial</th>{header}<th>overrides</th></tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody></table></section>")


def _importance_section(importance: Sequence[Any]) -> str:
    if not importance:
        return ""
    parts = ['<section id="importance"><h2>Importance</h2>',
             "<p>Each parameter's share of the variation of the model's mean over the search space: "
             "total effect (alone and with the others) and first order (alone), with their uncertainty.</p>"]
    for item in importance:
        parts.append(f"<h3>{_e(item.objective)} <small>(model fitted on {item.n_trials} trials)</small></h3>")
        parts.append('<table class="importance"><thead><tr><th>parameter</th><th colspan="2">total effect</th>'
                     "<th>first order</th></tr></thead><tbody>")
        for p in item.params:
            width = min(100.0, max(0.0, 100.0 * p.total)) if is_finite_number(p.total) else 0.0
            parts.append(f"<tr><td>{_e(p.name)}</td>"
                         f'<td class="bar-cell"><span class="bar" style="width:{width:.1f}px"></span></td>'
                         f'<td class="num">{_share(p.total)} &plusmn; {_share(p.total_sd)}</td>'
                         f'<td class="num">{_share(p.first)} &plusmn; {_share(p.first_sd)}</td></tr>')
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def _pictures_section(record: SweepRecord, folder: Path) -> str:
    figures = []
    for name in picture_names(record.several):
        try:
            data = (folder / name).read_bytes()
        except OSError:  # not drawn (yet), or not for this sweep
            continue
        encoded = base64.b64encode(data).decode("ascii")
        figures.append(f'<figure><figcaption>{_e(name)}</figcaption>'
                       f'<img alt="{_e(name)}" src="data:image/png;base64,{encoded}"></figure>')
    if not figures:
        return ('<section id="pictures"><h2>Pictures</h2><p>None drawn yet (skopt-report draws them; '
                "a running sweep draws them once the model is in use).</p></section>")
    return '<section id="pictures"><h2>Pictures</h2>\n<div class="figures">' + "\n".join(figures) + "</div>\n</section>"


# -- the trial table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One column of the trial table: its header, each trial's cell, whether it sorts as
    numbers, which way its first click sorts (``desc``: the largest first), its tooltip."""

    header: str
    cell: Callable[[Trial], str]
    numeric: bool = False
    first: str = "asc"
    title: str = ""

    def th(self) -> str:
        css = ' class="num"' if self.numeric else ""
        title = f' title="{_e(self.title)}"' if self.title else ""
        return f'<th{css} data-first="{self.first}"{title}>{_e(self.header)}</th>'


def _trials_section(record: SweepRecord) -> str:
    best_numbers = _best_numbers(record)
    columns = _columns(record, best_numbers)
    counts = {s: sum(1 for t in record.trials if _status(record, t) == s) for s in STATUSES}
    options = "".join(f'<option value="{s}">{s} ({counts[s]})</option>' for s in STATUSES if counts[s])
    rows = []
    for trial in record.trials:
        status = _status(record, trial)
        css = f"st-{status}" + (" best" if trial.number in best_numbers else "")
        cells = "".join(column.cell(trial) for column in columns)
        rows.append(f'<tr class="{css}" data-status="{status}" data-n="{trial.number}">{cells}</tr>')
    head = "".join(column.th() for column in columns)
    marked = "the Pareto front's trials" if record.several else "the best trial"
    return (f'<section id="trials-section"><h2>Trials</h2>\n'
            '<div class="controls"><label>Filter <input id="filter" type="search" '
            'placeholder="text in any cell (every word)" autocomplete="off"></label> '
            f'<label>Status <select id="status"><option value="">all ({len(record.trials)})</option>{options}'
            '</select></label> <span id="shown"></span></div>\n'
            f"<p class=\"hint\">Click a column's header to sort by it, again to reverse; the value's first "
            f"click puts the best first (pruned and infeasible trials after the completed ones); {marked} "
            "highlighted.</p>\n"
            f'<div class="scroll"><table id="trials"><thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div></section>")


def _columns(record: SweepRecord, best_numbers: Set[int]) -> List[_Column]:
    """The table's columns; ``best_numbers``: with several objectives, the front's trials."""
    trials = record.trials

    def counted(trial: Trial) -> bool:
        return _status(record, trial) == "ok"

    columns = [_Column("#", lambda t: _num_cell(t.number, str(t.number)), numeric=True),
               _Column("status", lambda t: _text_cell(_status(record, t), title=t.error_line if t.failed else ""))]
    if record.several:
        columns.append(_Column("front", lambda t: _num_cell(0 if t.number in best_numbers else None,
                                                            "yes" if t.number in best_numbers else ""),
                               numeric=True, title="on the Pareto front"))
        for i in range(record.objectives.count):
            maximize = record.objectives.maximize[i]
            columns.append(_Column(record.objectives.labelled(i), lambda t, i=i: _value_cell(
                t.values[i] if t.values is not None and i < len(t.values) else None, counted(t)),
                numeric=True, first="desc" if maximize else "asc"))
    else:
        ranks = {t.number: rank for rank, t in enumerate(rank_trials(record), start=1)}
        columns.append(_Column("rank", lambda t: _num_cell(ranks.get(t.number), str(ranks.get(t.number, ""))),
                               numeric=True, title="among the completed" + (" feasible" if record.constraints
                                                                            else "") + " trials, best first"))
        columns.append(_Column(f"{record.objective_name} ({direction_word(record.maximize)})",
                               lambda t: _value_cell(t.value, counted(t)), numeric=True,
                               first="desc" if record.maximize else "asc"))
    for metric in _keys(t.metrics for t in trials):
        columns.append(_Column(metric, lambda t, m=metric: _value_cell((t.metrics or {}).get(m)), numeric=True))
    names = [p.name for p in record.space.params] if record.space is not None else []
    for name in names + [n for n in _keys(t.params for t in trials) if n not in names]:
        numeric = all(is_finite_number(t.params[name]) for t in trials if t.params.get(name) is not None)
        columns.append(_Column(name, lambda t, n=name: _param_cell(t.params.get(n)), numeric=numeric))
    if any(t.step is not None for t in trials):
        columns.append(_Column("step", lambda t: _num_cell(t.step, "" if t.step is None else str(t.step)),
                               numeric=True, title="the last step its learning curve reached"))
    columns.append(_Column("duration (s)", lambda t: _num_cell(
        t.duration_s, "" if t.duration_s is None else f"{t.duration_s:.1f}"), numeric=True))
    if any(t.failed for t in trials):
        columns.append(_Column("error", lambda t: _text_cell(t.error_line[:160] if t.failed else "")))
    columns.append(_Column("job dir", lambda t: _job_dir_cell(record, t)))
    return columns


def _status(record: SweepRecord, trial: Trial) -> str:
    if trial.ok and not record.feasible(trial):
        return "infeasible"
    return trial.status if trial.status in STATUSES else "failed"


def _best_numbers(record: SweepRecord) -> Set[int]:
    """The trials the table highlights: the best one, or the Pareto front's."""
    if record.several:
        return {t.number for t in record.front().solutions}
    best = record.best()
    return set() if best is None else {best.number}


def _keys(mappings: Iterable[Optional[dict]]) -> List[str]:
    """Every key of ``mappings``, in the order they first appear."""
    seen: dict = {}
    for mapping in mappings:
        for key in mapping or {}:
            seen.setdefault(str(key), None)
    return list(seen)


def _num_cell(key: Optional[float], text: str, after: bool = False) -> str:
    """A cell that sorts by ``key`` (missing: last either way); ``after``: after every cell of
    its column that is not, either way."""
    sort = "" if key is None else repr(key)
    group = ' data-group="1"' if after else ""
    return f'<td class="num" data-sort="{sort}"{group}>{_e(text)}</td>'


def _value_cell(value: Optional[float], counted: bool = True) -> str:
    """An objective's value; one not ``counted`` (a pruned or an infeasible trial's) sorts after
    the counted ones, so that the first click on the column puts the best trial first."""
    finite = value if is_finite_number(value) else None
    return _num_cell(finite, "" if finite is None else _number(finite), after=not counted)


def _param_cell(value: Any) -> str:
    if is_finite_number(value):
        text = str(value) if isinstance(value, int) else _number(value)
        return f'<td class="num" data-sort="{value!r}" title="{_e(repr(value))}">{_e(text)}</td>'
    return _text_cell("" if value is None else str(value))


def _text_cell(text: str, title: str = "") -> str:
    title_attribute = f' title="{_e(title)}"' if title else ""
    return f"<td{title_attribute}>{_e(text)}</td>"


def _job_dir_cell(record: SweepRecord, trial: Trial) -> str:
    if not trial.job_dir:
        return "<td></td>"
    return f"<td>{_job_dir_link(record, trial.job_dir)}</td>"


def _job_dir_link(record: SweepRecord, job_dir: str) -> str:
    """The job dir as a ``file://`` link, named by its path inside the sweep dir where it is there."""
    path = Path(job_dir)
    try:
        shown = str(path.relative_to(record.sweep_dir.resolve())) + "/"
    except ValueError:
        shown = job_dir
    if not path.is_absolute():
        return _e(shown)
    return f'<a href="{_e(path.as_uri())}" title="{_e(job_dir)}">{_e(shown)}</a>'


def _job_dir_sentence(record: SweepRecord, trial: Trial) -> str:
    return f"; job dir {_job_dir_link(record, trial.job_dir)}" if trial.job_dir else ""


# -- pieces ----------------------------------------------------------------------------------------


def _override_block(overrides: str) -> str:
    """The overrides to paste on the app's command line, with a button that copies them."""
    return (f'<div class="override"><code>{_e(overrides)}</code>'
            '<button type="button" class="copy" title="copy the overrides">copy</button></div>')


def _pick_parts(record: SweepRecord, pick: Optional[ModelPick]) -> List[str]:
    """The model's pick: its sentence and, where it is not the best trial, its overrides and job dir."""
    if pick is None:
        return []
    sentence = f"<p>{_e(pick.sentence[:1].upper() + pick.sentence[1:])}</p>"
    if pick.is_best:
        return [sentence]
    parts = [sentence, _override_block(override_line(record, pick.trial.params))]
    if pick.trial.job_dir:
        parts.append(f"<p>Job dir {_job_dir_link(record, pick.trial.job_dir)}</p>")
    return parts


def _objectives_label(record: SweepRecord) -> str:
    if record.several:
        return ", ".join(record.objectives.labelled(i) for i in range(record.objectives.count))
    return f"{record.objective_name} ({direction_word(record.maximize)})"


def _number(value: float) -> str:
    return f"{value:.6g}"


def _share(value: float) -> str:
    return f"{value:.3f}" if is_finite_number(value) else "?"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;
 padding:16px 24px 48px;max-width:1500px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;
 padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}small{color:#5c6670;font-weight:normal}
.sweep-dir{font-family:ui-monospace,Menlo,Consolas,monospace;color:#5c6670;margin:0 0 8px;word-break:break-all}
.state{display:inline-block;padding:3px 10px;border-radius:12px;margin:4px 0;font-weight:600}
.state.running{background:#e3f1ff;color:#0b5394}.state.finished{background:#e5f5e7;color:#1e6b2c}
.state.stopped{background:#fff2db;color:#8a5300}.when{font-weight:normal;color:#5c6670}
.override{display:flex;gap:8px;align-items:flex-start;margin:6px 0 10px}
.override code{flex:1;background:#f4f6f8;border:1px solid #dde2e8;border-radius:4px;padding:6px 8px;
 font:13px ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;user-select:all}
button.copy{font:inherit;padding:4px 10px;border:1px solid #b8c2cc;border-radius:4px;background:#fff;cursor:pointer}
button.copy:hover{background:#eef2f6}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #e6e9ed;text-align:left;white-space:nowrap}
td.num,th.num{text-align:right}
table.front td:last-child{white-space:normal;min-width:420px}
table.importance td.bar-cell{width:104px;padding-right:0}.bar{display:inline-block;height:10px;
 background:#6d9eeb;vertical-align:middle;border-radius:2px}
figure{margin:0}.figures{display:flex;flex-wrap:wrap;gap:16px 24px;align-items:flex-start}figcaption{font-weight:600;margin-bottom:4px}
figure img{max-width:100%;height:auto;border:1px solid #e6e9ed}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin:6px 0}
.controls input{width:300px;padding:4px 6px}.hint{color:#5c6670;margin:4px 0 8px}
.scroll{overflow:auto;max-height:80vh;border:1px solid #e6e9ed}
#trials thead th{position:sticky;top:0;background:#f4f6f8;cursor:pointer;user-select:none}
#trials thead th:hover{background:#e6ebf0}
#trials th[aria-sort=ascending]::after{content:" \\25B2"}#trials th[aria-sort=descending]::after{content:" \\25BC"}
#trials tr.st-pruned td{color:#7a828a;font-style:italic}
#trials tr.st-failed td{background:#fdecec;color:#8a1c1c}
#trials tr.st-infeasible td{color:#7a828a;background:#f6f6f6}
#trials tr.best td{background:#fff6cf;font-weight:600}
#trials tbody tr:hover td{background:#eef4fb}
"""

# sorting, filtering, copying; the sorting and the filter survive a live page's reload (the browser
# keeps the scroll position itself)
_SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("trials");
  var filter = document.getElementById("filter");
  var status = document.getElementById("status");
  var shown = document.getElementById("shown");
  var storeKey = "skopt-report:" + location.pathname;
  var sorted = {col: -1, dir: 1};

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify({col: sorted.col, dir: sorted.dir, q: filter.value,
        status: status.value}));
    } catch (e) { /* storage refused (private mode): the state is just not kept */ }
  }

  function key(row, col, numeric) {
    var cell = row.cells[col];
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (text === "") { return null; }
    if (numeric) { var x = parseFloat(text); return isNaN(x) ? null : x; }
    return text;
  }
  function group(row, col) { return Number(row.cells[col].getAttribute("data-group") || 0); }
  function sortBy(col, dir) {
    var heads = table.tHead.rows[0].cells;
    var numeric = heads[col].classList.contains("num");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, col, numeric), y = key(b, col, numeric);
      var order = 0;
      if (x === null || y === null) {
        order = x === null ? (y === null ? 0 : 1) : -1;  // missing values last, either way
      } else if (group(a, col) !== group(b, col)) {
        order = group(a, col) - group(b, col);  // pruned and infeasible after the rest, either way
      } else {
        order = dir * (numeric ? (x < y ? -1 : x > y ? 1 : 0)
                               : x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"}));
      }
      return order || (Number(a.getAttribute("data-n")) - Number(b.getAttribute("data-n")));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < heads.length; i++) {
      if (i === col) { heads[i].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending"); }
      else { heads[i].removeAttribute("aria-sort"); }
    }
    sorted = {col: col, dir: dir};
  }
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = status.value;
    var rows = table.tBodies[0].rows, visible = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var show = (!wanted || rows[i].getAttribute("data-status") === wanted) &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      rows[i].hidden = !show;
      if (show) { visible++; }
    }
    shown.textContent = visible + " of " + rows.length + " trial(s) shown";
  }

  if (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var sortHere = function () {
        var dir = sorted.col === col ? -sorted.dir : (th.getAttribute("data-first") === "desc" ? -1 : 1);
        sortBy(col, dir);
        save();
      };
      th.tabIndex = 0;  // sortable from the keyboard too
      th.addEventListener("click", sortHere);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortHere(); }
      });
    });
    filter.addEventListener("input", function () { applyFilter(); save(); });
    status.addEventListener("change", function () { applyFilter(); save(); });
    var state = load();
    if (typeof state.q === "string") { filter.value = state.q; }
    if (typeof state.status === "string" &&
        Array.prototype.some.call(status.options, function (o) { return o.value === state.status; })) {
      status.value = state.status;
    }
    if (typeof state.col === "number" && state.col >= 0 && state.col < table.tHead.rows[0].cells.length) {
      sortBy(state.col, state.dir === -1 ? -1 : 1);
    }
    applyFilter();
  }

  document.addEventListener("click", function (event) {
    var button = event.target;
    if (!button.classList || !button.classList.contains("copy")) { return; }
    var code = button.parentNode.querySelector("code");
    var done = function () {
      button.textContent = "copied";
      setTimeout(function () { button.textContent = "copy"; }, 1500);
    };
    var fallback = function () {  // file:// pages may have no clipboard API: select and copy
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* left selected to copy by hand */ }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(code.textContent).then(done, fallback);
    } else {
      fallback();
    }
  });
})();
"""
