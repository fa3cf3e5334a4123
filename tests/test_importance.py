"""importance.py: the Sobol indices of the sweep's refitted model, on sweep dirs written by hand
from functions whose dominant and inert parameters are known."""
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from hydra_skopt_sweeper.insight.importance import Importance, importance_of, results_entry
from hydra_skopt_sweeper.insight.surface import fit_surface
from hydra_skopt_sweeper.insight.sweep_record import load_sweep
from hydra_skopt_sweeper.insight.sweep_report import format_report


def real(low=0.0, high=1.0, log=False, when=None):
    spec = {"kind": "real", "low": low, "high": high, "log": log}
    return spec if when is None else {**spec, "when": when}


def categorical(*options, when=None):
    spec = {"kind": "categorical", "choices": list(options), "labels": list(options)}
    return spec if when is None else {**spec, "when": when}


def draw(spec, rng):
    if spec["kind"] == "real":
        if spec["log"]:
            return math.exp(rng.uniform(math.log(spec["low"]), math.log(spec["high"])))
        return rng.uniform(spec["low"], spec["high"])
    return rng.choice(spec["choices"])


def active(space, params):
    """Whether each conditional parameter's condition holds (conditions here: ``name == 'option'``)."""
    for name, spec in space.items():
        if "when" in spec:
            key, option = (part.strip().strip("'") for part in spec["when"].split("=="))
            if params.get(key) != option:
                del params[name]
    return params


def write_sweep(sweep_dir, space, function, n_trials, seed=0, maximize=False, estimator=None):
    """A sweep dir as the loop writes it: search_space.json and trials.jsonl, each trial's
    value (or values, when ``maximize`` is a list) ``function(params)``."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    described = {name: {**spec, "override_key": name} for name, spec in space.items()}
    (sweep_dir / "search_space.json").write_text(json.dumps({"params": described, "maximize": maximize}))
    if estimator is not None:
        (sweep_dir / "multirun.yaml").write_text(f"hydra:\n  sweeper:\n    base_estimator: {estimator}\n")
    rng = random.Random(seed)
    lines = []
    for number in range(n_trials):
        params = active(space, {name: draw(spec, rng) for name, spec in space.items()})
        value = function(params)
        several = isinstance(value, list)
        lines.append(json.dumps({"number": number, "params": params, "value": None if several else value,
                                 "values": value if several else None, "status": "ok"}))
    (sweep_dir / "trials.jsonl").write_text("\n".join(lines) + "\n")
    return load_sweep(sweep_dir)


def by_name(importance: Importance):
    # in exact arithmetic a parameter's effect alone is part of its total effect
    assert all(0.0 <= p.first <= p.total <= 1.0 for p in importance.params), importance
    return {p.name: p for p in importance.params}


ADDITIVE = {"strong": real(), "weak": real(), "inert": real(), "idle": real(0.001, 1.0, log=True)}


def additive(params):
    return 10.0 * params["strong"] + 2.0 * params["weak"]


def test_the_dominant_parameter_comes_first_and_inert_ones_near_zero(tmp_path):
    [importance] = importance_of(write_sweep(tmp_path, ADDITIVE, additive, 30))
    assert importance.n_trials == 30 and importance.objective == "objective (min)"
    assert [p.name for p in importance.params[:2]] == ["strong", "weak"]
    found = by_name(importance)
    for p in importance.params:
        assert 0.0 <= p.first <= 1.0 and 0.0 <= p.total <= 1.0 and p.first_sd >= 0 and p.total_sd >= 0
    # 100 : 4 in variance; additive, so alone (first) is all there is (total)
    assert found["strong"].total == pytest.approx(100 / 104, abs=0.05)
    assert found["strong"].first == pytest.approx(found["strong"].total, abs=0.05)
    assert found["weak"].total == pytest.approx(4 / 104, abs=0.03)
    assert found["inert"].total < 0.01 and found["idle"].total < 0.01


def test_an_interaction_shows_in_the_total_not_in_the_first_order(tmp_path):
    """Ishigami's function: x3 acts only through x1 (first-order 0, total 0.24)."""
    space = {f"x{i}": real(-math.pi, math.pi) for i in (1, 2, 3)}

    def ishigami(p):
        return math.sin(p["x1"]) + 7 * math.sin(p["x2"]) ** 2 + 0.1 * p["x3"] ** 4 * math.sin(p["x1"])

    found = by_name(importance_of(write_sweep(tmp_path, space, ishigami, 120))[0])
    assert found["x3"].first < 0.05 and found["x3"].total > 0.12
    assert found["x1"].total > found["x1"].first + 0.1  # its interaction with x3
    # x2 acts alone in Ishigami's function; the model's warped losses give it a little more
    # interaction than none, but less than x1's
    assert found["x2"].total - found["x2"].first < found["x1"].total - found["x1"].first


def test_the_uncertainty_shrinks_as_trials_accrue(tmp_path):
    few = by_name(importance_of(write_sweep(tmp_path / "few", ADDITIVE, additive, 8))[0])
    many = by_name(importance_of(write_sweep(tmp_path / "many", ADDITIVE, additive, 60))[0])
    assert many["weak"].total_sd < few["weak"].total_sd / 2
    assert many["strong"].first_sd < few["strong"].first_sd / 2


def test_the_same_sweep_dir_gives_the_same_numbers_and_the_results_entry(tmp_path):
    record = write_sweep(tmp_path, ADDITIVE, additive, 20)
    first, again = importance_of(record), importance_of(record, surface=fit_surface(record))
    assert first == again
    entry = results_entry(first)
    assert list(entry) == [p.name for p in first[0].params]  # largest total first
    assert set(entry["strong"]) == {"first", "total", "first_sd", "total_sd"}
    assert yaml.safe_load(yaml.safe_dump(entry)) == entry  # plain floats, as the results file writes


def test_a_categorical_is_one_parameter(tmp_path):
    space = {"opt": categorical("adam", "sgd", "rmsprop"), "lr": real(1e-4, 1e-1, log=True), "noise": real()}
    offsets = {"adam": 0.0, "sgd": 3.0, "rmsprop": 1.0}

    def loss(p):
        return offsets[p["opt"]] + 0.3 * math.log10(p["lr"])

    importance = importance_of(write_sweep(tmp_path, space, loss, 30))[0]
    assert [p.name for p in importance.params] == ["opt", "lr", "noise"]
    assert importance.params[0].total > 0.8 and importance.params[2].total < 0.02


def test_a_conditional_parameter_is_measured_where_its_condition_holds(tmp_path):
    """momentum matters only with sgd, and there it is almost all that matters: measured where
    it applies, it explains most of the variance; over the whole space, a fraction of it."""
    space = {"opt": categorical("adam", "sgd"), "lr": real(), "momentum": real(when="opt == 'sgd'")}

    def loss(p):
        return 0.1 * p["lr"] + (4.0 * (p["momentum"] - 0.5) ** 2 if p["opt"] == "sgd" else 0.3)

    record = write_sweep(tmp_path, space, loss, 40)
    assert record.space.conditional
    found = by_name(importance_of(record)[0])
    assert found["momentum"].total > 0.8 and found["momentum"].first > 0.7
    assert found["lr"].total < 0.1
    assert found["opt"].total > 0.3  # switching sgd on brings momentum's effect with it


def test_several_objectives_have_one_importance_each(tmp_path):
    space = {"a": real(), "b": real(), "c": real()}
    record = write_sweep(tmp_path, space, lambda p: [5 * p["a"] + p["c"], 5 * p["b"] + p["c"]], 25,
                         maximize=[False, True], estimator="RF")
    assert fit_surface(record, 1).kind == "GP"  # a GP per objective, as the sweep fitted them
    importances = importance_of(record)
    assert [i.objective for i in importances] == ["objective 0 (min)", "objective 1 (max)"]
    assert [i.params[0].name for i in importances] == ["a", "b"]
    entry = results_entry(importances)
    assert list(entry) == ["objective 0 (min)", "objective 1 (max)"] and list(entry["objective 1 (max)"])[0] == "b"


def test_a_forest_is_measured_on_its_mean_with_a_bootstrap_spread(tmp_path):
    record = write_sweep(tmp_path, ADDITIVE, additive, 30, estimator="ET")
    importance = importance_of(record)[0]
    assert importance.params[0].name == "strong" and importance.params[0].total > 0.6
    assert all(p.total_sd >= 0 for p in importance.params) and importance.params[0].total_sd > 0


def test_too_few_trials_or_no_space_measure_nothing(tmp_path):
    assert importance_of(write_sweep(tmp_path / "few", ADDITIVE, additive, 4)) == []
    record = write_sweep(tmp_path / "bare", ADDITIVE, additive, 20)
    (tmp_path / "bare" / "search_space.json").unlink()
    assert importance_of(load_sweep(tmp_path / "bare")) == []


def test_the_report_has_an_importance_section(tmp_path):
    record = write_sweep(tmp_path, ADDITIVE, additive, 20)
    text = format_report(record)
    section = text[text.index("Importance"):].splitlines()
    assert "total" in section[1] and "first-order" in section[1]
    rows = [line.split() for line in section[3:7]]
    assert [row[0] for row in rows[:2]] == ["strong", "weak"]
    assert rows[0][2] == "±" and float(rows[0][1]) > 0.8
    assert "Importance" not in format_report(write_sweep(tmp_path / "few", ADDITIVE, additive, 3))


def _recorder(sweep_dir):
    from hydra_skopt_sweeper.problem.objectives import Objectives
    from hydra_skopt_sweeper.settings import SkoptSweeperConf
    from hydra_skopt_sweeper.sweep.recording import Recorder

    recorder = Recorder(sweep_dir, SkoptSweeperConf(), Objectives())
    recorder.trials = load_sweep(sweep_dir).trials
    return recorder


def test_the_results_file_gets_the_importance_only_at_the_end(tmp_path, caplog):
    write_sweep(tmp_path, ADDITIVE, additive, 20)
    recorder = _recorder(tmp_path)
    recorder.write_results(None)  # as each trial returns: not measured
    assert "importance" not in yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    with caplog.at_level("INFO"):
        recorder.write_results(None, final=True)
    written = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert list(written["importance"])[:2] == ["strong", "weak"] and written["n_trials"] == 20
    assert "Importance for objective (min) (total effect ± sd): strong 0.9" in caplog.text


def test_a_failure_to_measure_is_a_warning_not_a_failed_sweep(tmp_path, caplog, monkeypatch):
    from hydra_skopt_sweeper.insight import importance

    def broken(record):
        raise RuntimeError("the model diverged")

    monkeypatch.setattr(importance, "importance_of", broken)
    write_sweep(tmp_path, ADDITIVE, additive, 20)
    recorder = _recorder(tmp_path)
    recorder.write_results(None, final=True)
    written = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert "importance" not in written and written["n_trials"] == 20
    assert "Cannot measure the importance of the parameters (RuntimeError: the model diverged)" in caplog.text
