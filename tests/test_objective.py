"""Unit tests: a trial's return value -> the float the optimiser minimises."""
import json
import math
import sys
from decimal import Decimal

import numpy as np
import pytest
from hydra.core.utils import JobReturn, JobStatus

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.problem.objectives import (
    Objectives,
    TrialValueError,
    read_value,
    read_values,
    to_loss,
)
from hydra_skopt_sweeper.records.journal import Trial
from hydra_skopt_sweeper.records.outcomes import TimedReturn
from hydra_skopt_sweeper.sweep.recording import trial_from
from hydra_skopt_sweeper.trial.task import TimedTask


class ZeroDimTensor:
    """Stands in for a 0-d torch tensor: the plugin only ever calls float() on it."""

    def __init__(self, value):
        self.value = value

    def __float__(self):
        return float(self.value)


@pytest.mark.parametrize(
    "returned, expected",
    [(0.25, 0.25), (3, 3.0), (np.float32(0.5), 0.5), (np.int64(7), 7.0),
     (np.array(1.5), 1.5), (ZeroDimTensor(0.125), 0.125), (Decimal("2.5"), 2.5)],
)
def test_numbers_are_read_with_float(returned, expected):
    value = read_value(returned)
    assert value == expected and type(value) is float


def test_mapping_is_read_through_monitor():
    assert read_value({"val_loss": ZeroDimTensor(0.3), "val_acc": 0.9}, "val_acc") == 0.9
    assert read_value({"val": {"loss": 0.4}}, "val.loss") == 0.4


def test_mapping_without_monitor_names_the_keys():
    with pytest.raises(TrialValueError, match=r"set hydra.sweeper.monitor.*|keys \['a', 'b'\]"):
        read_value({"a": 1.0, "b": 2.0})


def test_missing_monitor_key_names_the_key_and_the_keys_present():
    with pytest.raises(TrialValueError, match=r"monitor='val_acc'.*\['val_loss'\]"):
        read_value({"val_loss": 1.0}, "val_acc")


@pytest.mark.parametrize("returned, message", [
    (None, "returned None"), (math.nan, "not a finite"), (math.inf, "not a finite"),
    (-math.inf, "not a finite"), ("0.5", "not a number"), (True, "not a number"),
    ([1.0], "cannot read a number"), (np.array([1.0, 2.0]), "cannot read a number"),
])
def test_unusable_values_are_trial_errors(returned, message):
    with pytest.raises(TrialValueError, match=message):
        read_value(returned)


def test_maximize_flips_the_sign():
    assert to_loss(0.9, maximize=True) == -0.9 and to_loss(0.9, maximize=False) == 0.9


def test_timed_task_returns_the_value_and_its_duration():
    timed = TimedTask(lambda cfg: cfg * 2)(21)
    assert isinstance(timed, TimedReturn) and timed.value == 42 and timed.duration_s >= 0


def _returned(value, status=JobStatus.COMPLETED):
    ret = JobReturn()
    ret.status = status
    ret.return_value = value
    return ret


def test_a_trial_is_recorded_from_what_the_launcher_returned_or_else_from_its_outcome(tmp_path):
    params = {"x": 0.5}
    ok = trial_from(3, params, _returned(TimedReturn(2.5, 1.25)), tmp_path, None, "lost")
    assert (ok.status, ok.value, ok.duration_s) == ("ok", 2.5, 1.25)
    unusable = trial_from(3, params, _returned({"acc": 0.9}), tmp_path, "val_loss", "lost")
    assert unusable.status == "failed" and "monitor='val_loss' is not in the returned mapping" in unusable.error
    pruned = trial_from(3, params, _returned(TimedReturn(None, 0.5, pruned_step=4)), tmp_path, None, "lost")
    assert (pruned.status, pruned.value) == ("pruned", None)
    raised = _returned(None, JobStatus.FAILED)
    raised._return_value = RuntimeError("boom")
    assert trial_from(3, params, raised, tmp_path, None, "lost").error == "RuntimeError: boom"
    # nothing returned (a lost batch): the outcome the job left, else the launcher's loss
    assert trial_from(3, params, None, tmp_path, None, "the launcher lost it").error == "the launcher lost it"
    (tmp_path / "3.json").write_text(json.dumps({"value": 1.5, "duration_s": 2.0, "job_dir": "/d/3"}))
    kept = trial_from(3, params, None, tmp_path, None, "lost")
    assert (kept.status, kept.value, kept.job_dir) == ("ok", 1.5, "/d/3")
    (tmp_path / "4.json").write_text(json.dumps({"pruned_step": 2, "value": 0.7}))
    assert trial_from(4, params, None, tmp_path, None, "lost").status == "pruned"


def _exit_after_ctrl_c(cfg):
    """As Lightning's trainer does on a Ctrl-C: it catches the KeyboardInterrupt and exits."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        sys.exit(1)


def test_a_trial_that_exits_is_a_failure_but_one_that_exits_after_a_ctrl_c_is_an_interrupt():
    from hydra_skopt_sweeper.trial.task import TrialExit

    with pytest.raises(TrialExit, match=r"the trial called sys.exit\(0\)"):
        TimedTask(lambda cfg: sys.exit(0))(None)
    with pytest.raises(KeyboardInterrupt):
        TimedTask(_exit_after_ctrl_c)(None)


TWO = Objectives((None, None), (False, True))
NAMED = Objectives(("val_loss", "acc"), (False, True))


@pytest.mark.parametrize("returned", [(1.0, 2), [np.float32(1.0), ZeroDimTensor(2.0)], np.array([1.0, 2.0])])
def test_several_objectives_are_read_in_order_from_a_sequence(returned):
    assert read_values(returned, TWO) == [1.0, 2.0]
    assert TWO.losses([1.0, 2.0]) == [1.0, -2.0]


def test_several_objectives_are_read_from_a_mapping_through_the_monitor_keys():
    assert read_values({"acc": 0.9, "val_loss": 0.3, "other": 1}, NAMED) == [0.3, 0.9]
    with pytest.raises(TrialValueError, match=r"monitor='acc' is not in the returned mapping"):
        read_values({"val_loss": 0.3}, NAMED)
    with pytest.raises(TrialValueError, match=r"set hydra.sweeper.monitor to the list of the 2 keys"):
        read_values({"val_loss": 0.3, "acc": 0.9}, TWO)


@pytest.mark.parametrize("returned, message", [
    ((1.0,), r"returned 1 value\(s\), but the sweep has 2 objectives \(objective 0, objective 1\)"),
    ((1.0, 2.0, 3.0), r"returned 3 value\(s\)"),
    (1.0, r"with 2 objectives it returns a list or tuple of 2 numbers"),
    ("ab", r"with 2 objectives it returns a list or tuple"),
    (None, r"returned None; return the 2 objectives' values"),
    ((1.0, float("nan")), r"objective 1: the returned value is nan"),
])
def test_the_wrong_values_for_several_objectives_say_what_is_wrong(returned, message):
    with pytest.raises(TrialValueError, match=message):
        read_values(returned, TWO)


def test_the_objectives_are_declared_by_monitor_and_maximize_lists():
    assert Objectives.of() == Objectives() and not Objectives.of("val_loss", True).several
    assert Objectives.of(["val_loss"], [False]) == Objectives(("val_loss",), (False,))  # a list of one: one
    assert Objectives.of(["a", "b"]) == Objectives(("a", "b"), (False, False))
    assert Objectives.of(None, [True, False]) == Objectives((None, None), (True, False))
    assert Objectives.of(["a", "b"]).monitor == ["a", "b"] and Objectives.of(None, [True, False]).monitor is None
    with pytest.raises(SweeperConfigError, match=r"maximize=\[True\]: must have one entry per monitored key \(hydra.sweeper.monitor=\['a', 'b'\] has 2\)"):
        Objectives.of(["a", "b"], [True])
    with pytest.raises(SweeperConfigError, match=r"maximize=\[True, 'yes'\]: each entry must be true or false, not 'yes'"):
        Objectives.of(None, [True, "yes"])
    with pytest.raises(SweeperConfigError, match=r"monitor=\[\]: must be"):
        Objectives.of([], None)


def test_a_trial_of_several_objectives_is_recorded_with_its_values_from_its_return_or_its_outcome(tmp_path):
    params = {"x": 0.5}
    ok = trial_from(3, params, _returned(TimedReturn((2.5, 0.5), 1.0)), tmp_path, TWO, "lost")
    assert (ok.status, ok.value, ok.values) == ("ok", None, [2.5, 0.5])
    wrong = trial_from(3, params, _returned((2.5,)), tmp_path, TWO, "lost")
    assert wrong.status == "failed" and "returned 1 value(s), but the sweep has 2 objectives" in wrong.error
    (tmp_path / "3.json").write_text(json.dumps({"values": [1.5, 2.5], "duration_s": 2.0, "job_dir": "/d/3"}))
    kept = trial_from(3, params, None, tmp_path, TWO, "lost")
    assert (kept.status, kept.values, kept.job_dir) == ("ok", [1.5, 2.5], "/d/3")


def test_a_journal_line_of_one_objective_has_no_values_key_and_one_of_several_reads_back():
    assert "values" not in json.loads(Trial(1, {"x": 1}, 0.5, "ok").to_json())
    line = Trial(2, {"x": 1}, None, "ok", values=[0.5, 3.0]).to_json()
    assert Trial.from_dict(json.loads(line)).values == [0.5, 3.0]
    with pytest.raises(ValueError, match="not finite"):
        Trial.from_dict({**json.loads(line), "values": [0.5, float("inf")]})
