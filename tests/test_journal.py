"""Unit tests: the append-only journal and the results file."""
import json
import logging
import re

import pytest
import yaml

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.records.journal import (
    FAILED,
    OK,
    Journal,
    Trial,
    best_trial,
    format_params,
    read_trials,
    write_results,
)
from hydra_skopt_sweeper.records.sweep_dir import RESULTS as RESULTS_NAME
from hydra_skopt_sweeper.sweep.resume import open_sweep_dir


def trials():
    return [
        Trial(0, {"x": 0.5, "opt": "adam"}, 2.0, OK, None, 1.25, "/d/0"),
        Trial(1, {"x": 0.1, "opt": "sgd"}, None, FAILED, "RuntimeError: boom", None, "/d/1"),
        Trial(2, {"x": 0.9, "opt": "sgd"}, 1.0, OK, None, 0.5, "/d/2"),
    ]


def test_append_and_read_back(tmp_path):
    journal = Journal(tmp_path / "trials.jsonl")
    journal.append(trials()[:2])
    journal.append(trials()[2:])
    assert journal.read() == trials()
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert set(json.loads(lines[1])) == {"number", "params", "value", "status", "error",
                                         "duration_s", "job_dir", "batch", "step"}


def test_appending_never_rewrites_earlier_lines(tmp_path):
    journal = Journal(tmp_path / "trials.jsonl")
    journal.append(trials()[:1])
    before = journal.path.read_bytes()
    journal.append(trials()[1:])
    assert journal.path.read_bytes().startswith(before)


def test_torn_last_line_is_skipped_with_a_warning_and_the_next_append_is_whole(tmp_path, caplog):
    journal = Journal(tmp_path / "trials.jsonl")
    journal.append(trials()[:1])
    with open(journal.path, "a") as handle:
        handle.write('{"number": 1, "params": {"x"')  # a kill in the middle of a write
    with caplog.at_level(logging.WARNING):
        assert journal.read() == trials()[:1]
    assert "unreadable record" in caplog.text
    journal.append(trials()[2:])
    assert journal.read() == [trials()[0], trials()[2]]


def _record(number, **changes):
    return json.dumps({**json.loads(trials()[0].to_json()), "number": number, **changes})


@pytest.mark.parametrize("line, reason", [
    (b'\xff\xfe{"number": 7}', "UnicodeDecodeError"),
    (_record(7, value=None).encode()[:-1] + b'\x80}', "UnicodeDecodeError"),
    (_record(7).replace('"value": 2.0', '"value": NaN').encode(), "NaN is not finite"),
    (_record(7).replace('"value": 2.0', '"value": -Infinity').encode(), "-Infinity is not finite"),
    (_record(7).replace('"value": 2.0', '"value": 1e400').encode(), "1e400 is not finite"),
    (_record(7, params={"x": float("nan")}).encode(), "NaN is not finite"),
    (_record(-3).encode(), "number=-3 is negative"),
    (_record(1.5).encode(), "number=1.5 is not of the journal's type"),
    (_record(True).encode(), "number=True is not of the journal's type"),
    (_record(7, params=[["x", 1]]).encode(), "params=[['x', 1]] is not a JSON object"),
    (_record(7, value="2.0").encode(), "value='2.0' is not of the journal's type"),
    (_record(7, step="3").encode(), "step='3' is not of the journal's type"),
    (b"[1, 2]", "a record must be a JSON object"),
    (b"[" * 100000 + b"]" * 100000, "RecursionError"),
])
def test_an_unreadable_or_non_finite_record_is_skipped_naming_its_line(tmp_path, caplog, line, reason):
    journal = Journal(tmp_path / "trials.jsonl")
    journal.append(trials()[:2])
    with open(journal.path, "ab") as handle:
        handle.write(line + b"\n")
    journal.append(trials()[2:])
    with caplog.at_level(logging.WARNING):
        assert journal.read() == trials()
    assert f"trials.jsonl:3: skipping an unreadable record (" in caplog.text and reason in caplog.text


def test_a_second_record_of_a_number_is_skipped_and_the_first_stands(tmp_path, caplog):
    journal = Journal(tmp_path / "trials.jsonl")
    journal.append(trials())
    journal.append([Trial(1, {"x": 0.3, "opt": "adam"}, 0.5, OK)])
    with caplog.at_level(logging.WARNING):
        assert journal.read() == trials()
    assert "trials.jsonl:4: skipping a second record of trial #1; the first one, on line 2, stands" in caplog.text


def test_a_binary_file_reads_as_no_trials_with_a_bounded_number_of_warnings(tmp_path, caplog):
    import random

    rng = random.Random(0)
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(200_000)))
    with caplog.at_level(logging.WARNING):
        assert read_trials(path) == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 11 and "model.bin:1: skipping an unreadable record" in warnings[0]
    assert "lines skipped in all (the first 10 are named above); is it a journal" in warnings[-1]


def test_best_trial_honours_maximize_and_ignores_failures():
    assert best_trial(trials(), maximize=False).number == 2
    assert best_trial(trials(), maximize=True).number == 0
    assert best_trial(trials()[1:2], maximize=False) is None


def test_results_file(tmp_path):
    write_results(tmp_path, trials(), maximize=True)
    results = yaml.safe_load((tmp_path / RESULTS_NAME).read_text())
    assert results["name"] == "skopt_gp"
    assert results["best_params"] == {"x": 0.5, "opt": "adam"}
    assert results["best_value"] == 2.0
    assert (results["n_trials"], results["n_failed"]) == (3, 1)
    assert results["recommended_params"] == {} and results["recommended_value"] is None


def test_results_file_keeps_the_observed_best_beside_the_recommendation(tmp_path):
    records = trials()
    write_results(tmp_path, records, maximize=True, recommended=(records[2], 1.25))
    results = yaml.safe_load((tmp_path / RESULTS_NAME).read_text())
    assert results["best_trial"] == 0 and results["best_params"] == {"x": 0.5, "opt": "adam"}
    assert results["recommended_trial"] == 2 and results["recommended_value"] == 1.25
    assert results["recommended_params"] == records[2].params


def test_trials_table_has_a_column_per_param(tmp_path):
    import csv

    records = trials()
    records[2].params["value"] = 7  # a param whose name clashes with a record field
    write_results(tmp_path, records, maximize=False)
    with open(tmp_path / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    assert rows[0]["x"] == "0.5" and rows[0]["opt"] == "adam" and rows[0]["value"] == "2.0"
    assert rows[1]["status"] == "failed" and rows[1]["value"] == "" and "boom" in rows[1]["error"]
    assert rows[2]["param:value"] == "7" and rows[0]["param:value"] == ""


def _description(**changes):
    description = {"params": {"x": {"kind": "real", "low": 0.0, "high": 1.0}}, "maximize": False,
                   "monitor": None, "n_calls": 10}
    return {**description, **changes}


def test_open_sweep_dir_resumes_the_same_sweep_and_refuses_another(tmp_path):
    journal = Journal(tmp_path / "trials.jsonl")
    assert open_sweep_dir(journal, _description()) == []  # a new sweep dir
    journal.append(trials())
    assert open_sweep_dir(journal, _description(n_calls=20)) == trials()  # a longer budget resumes
    with pytest.raises(SweeperConfigError, match=r"another objective \(hydra.sweeper.maximize False -> True\)"):
        open_sweep_dir(journal, _description(maximize=True))
    with pytest.raises(SweeperConfigError, match="different search space .*x: high 1.0 -> 2.0"):
        open_sweep_dir(journal, _description(params={"x": {"kind": "real", "low": 0.0, "high": 2.0}}))


def test_open_sweep_dir_refuses_a_resume_with_other_pins_naming_them(tmp_path):
    journal = Journal(tmp_path / "trials.jsonl")
    open_sweep_dir(journal, _description(pinned={"y": "y=0"}))
    journal.append(trials())
    assert open_sweep_dir(journal, _description(pinned={"y": "y=0"})) == trials()
    for pinned, named in (({"y": "y=5"}, "y was pinned to 'y=0' then, to 'y=5' now"),
                          ({}, "y was pinned then ('y=0'), it is not now"),
                          ({"y": "y=0", "z": "z=1"}, "z is pinned now ('z=1'), it was not then")):
        with pytest.raises(SweeperConfigError, match=re.escape(f"other command-line pins ({named})")):
            open_sweep_dir(journal, _description(pinned=pinned))


def test_a_sweep_dir_written_before_pins_were_recorded_resumes_without_pins(tmp_path):
    journal = Journal(tmp_path / "trials.jsonl")
    open_sweep_dir(journal, _description())  # no "pinned" key
    journal.append(trials())
    assert open_sweep_dir(journal, _description(pinned={})) == trials()


def test_open_sweep_dir_starting_afresh_moves_the_journal_aside(tmp_path, caplog):
    journal = Journal(tmp_path / "trials.jsonl")
    open_sweep_dir(journal, _description())
    journal.append(trials())
    with caplog.at_level(logging.WARNING):
        assert open_sweep_dir(journal, _description(maximize=True), start_afresh_because="resume=false") == []
    assert not journal.exists() and len(list(tmp_path.glob("trials.*.jsonl"))) == 1
    assert "resume=false: moved the earlier journal" in caplog.text
    assert json.loads((tmp_path / "search_space.json").read_text())["maximize"] is True


def test_format_params_tells_typed_choices_apart():
    # choice(0, 0.0) and choice(1, true) are different options: a log line must show which
    assert format_params({"a": 0, "b": 0.0, "c": True, "d": 1, "e": False}) == "a=0, b=0.0, c=true, d=1, e=false"
    assert format_params({"lr": 0.00123456789, "x": -2.0, "big": 1e20, "inf": float("inf")}) == (
        "lr=0.00123457, x=-2.0, big=1e+20, inf=inf")


def test_a_forecast_is_written_only_for_a_trial_that_has_one_and_read_back():
    plain = Trial(1, {"x": 1}, 0.5, "pruned", step=3)
    assert "forecast" not in json.loads(plain.to_json())
    stopped = Trial(2, {"x": 1}, 0.5, "pruned", step=3, forecast=0.25)
    assert Trial.from_dict(json.loads(stopped.to_json())) == stopped
    with pytest.raises(TypeError):
        Trial.from_dict({**json.loads(stopped.to_json()), "forecast": "low"})
