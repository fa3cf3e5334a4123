"""compat.py: the Optuna sweeper's keys mapped to this sweeper's, and the converter's refusals
(tests/test_template_app.py sweeps an app of lightning-hydra-template's shape with them)."""
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from hydra_skopt_sweeper.doors import optuna as optuna_door
from hydra_skopt_sweeper.doors.optuna import from_optuna
from hydra_skopt_sweeper.errors import SweeperConfigError

DEFAULTS = {"n_calls": 50, "n_initial_points": 10, "batch_size": None, "random_state": None,
            "max_failures": None, "maximize": None}


def test_every_key_with_a_meaning_is_mapped_and_the_rest_ignored_by_name():
    mapped = from_optuna({"direction": "maximize", "n_trials": 20, "n_jobs": 2, "storage": None,
                          "study_name": "mnist", "max_failure_rate": 0.1, "params": {"lr": "interval(0, 1)"},
                          "sampler": {"_target_": "optuna.samplers.TPESampler", "seed": 1234,
                                      "n_startup_trials": 5, "multivariate": True}}, DEFAULTS)
    assert mapped.settings == {"maximize": True, "n_calls": 20, "batch_size": 2, "max_failures": 3,
                               "random_state": 1234, "n_initial_points": 5, "params": {"lr": "interval(0, 1)"}}
    text = mapped.describe()
    assert "direction=maximize -> maximize=true" in text and "n_trials=20 -> n_calls=20" in text
    assert "max_failure_rate=0.1 -> max_failures=3" in text
    assert "ignored sampler._target_ (optuna.samplers.TPESampler), sampler.multivariate, study_name" in text


def test_a_config_without_optuna_keys_is_unchanged():
    settings = {"n_calls": 12, "maximize": True}
    mapped = from_optuna(settings, DEFAULTS)
    assert mapped.settings == settings and mapped.describe() == ""


@pytest.mark.parametrize("settings, message", [
    ({"direction": "maximize", "maximize": False}, "hydra.sweeper.direction='maximize' means maximize=True, but hydra.sweeper.maximize=False"),
    ({"direction": "minimize", "maximize": True}, "means maximize=False, but hydra.sweeper.maximize=True"),
    ({"n_trials": 20, "n_calls": 30}, "hydra.sweeper.n_trials=20 means n_calls=20, but hydra.sweeper.n_calls=30"),
    ({"direction": ["minimize", "upwards"]}, "direction=['minimize', 'upwards']: each direction must be minimize or maximize, not 'upwards'"),
    ({"direction": "upwards"}, "hydra.sweeper.direction='upwards': must be one of minimize, maximize"),
    ({"custom_search_space": "my_pkg.space"}, "write each parameter in hydra.sweeper.params"),
    ({"search_space": {"lr": {"type": "float"}}}, "old distribution mappings are not read here"),
    ({"max_failure_rate": 2}, "max_failure_rate=2: must be a number in [0, 1]"),
])
def test_what_cannot_be_honoured_is_refused_with_what_to_write(settings, message):
    with pytest.raises(SweeperConfigError, match=None) as error:
        from_optuna(settings, DEFAULTS)
    assert message in str(error.value)


def test_agreeing_keys_are_accepted():
    mapped = from_optuna({"direction": "maximize", "maximize": True, "n_trials": 30, "n_calls": 30}, DEFAULTS)
    assert mapped.settings["maximize"] is True and mapped.settings["n_calls"] == 30


def test_a_list_of_directions_is_a_list_of_maximize_and_a_list_of_one_the_single_objective():
    mapped = from_optuna({"direction": ["minimize", "maximize"]}, DEFAULTS)
    assert mapped.settings == {"maximize": [False, True]}
    assert "direction=['minimize', 'maximize'] -> maximize=[false, true]" in mapped.describe()
    assert from_optuna({"direction": ["maximize"]}, DEFAULTS).settings == {"maximize": True}


def test_the_converter_writes_a_multi_objective_file_and_refuses_what_it_cannot_honour(tmp_path):
    source = tmp_path / "multi.yaml"
    source.write_text("defaults:\n  - override hydra/sweeper: optuna\nhydra:\n  sweeper:\n"
                      "    direction: [minimize, minimize]\n    n_trials: 20\n")
    done = _convert(source)
    assert done.returncode == 0, done.stderr
    assert "maximize:\n    - false\n    - false\n" in done.stdout and "override hydra/sweeper: skopt_gp" in done.stdout
    source.write_text("hydra:\n  sweeper:\n    direction: [minimize, sideways]\n")
    done = _convert(source)
    assert done.returncode == 2 and "each direction must be minimize or maximize, not 'sideways'" in done.stderr


OPTUNA_SPHERE = Path(__file__).parent / "apps" / "optuna_sphere" / "app.py"


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["grid", "tpe"])
def test_the_optuna_sweepers_example_config_composes_with_its_sampler_line(tmp_path, sampler):
    done = subprocess.run([sys.executable, str(OPTUNA_SPHERE), "-m", f"hydra.sweep.dir={tmp_path}",
                           f"hydra/sweeper/sampler={sampler}", "hydra.sweeper.n_trials=5"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    log = done.stdout + done.stderr
    target = {"grid": "GridSampler", "tpe": "TPESampler"}[sampler]
    assert f"ignored sampler._target_ (optuna.samplers.{target})" in log
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 5
    assert all(r["params"]["x"] * 2 == int(r["params"]["x"] * 2) and -5.5 <= r["params"]["x"] < 5.5
               and r["params"]["y"] in (-5, 0, 5) for r in records)


@pytest.mark.slow
def test_a_value_on_the_command_line_pins_a_swept_param_as_the_optuna_sweeper_does(tmp_path):
    # the Optuna sweeper's own test: `python sphere.py -m 'x=choice(0, 1, 2)' y=0`
    def run(*overrides):
        return subprocess.run([sys.executable, str(OPTUNA_SPHERE), "-m", f"hydra.sweep.dir={tmp_path}",
                               "x=choice(0, 1, 2)", *overrides], capture_output=True, text=True, timeout=300)

    done = run("y=0")
    assert done.returncode == 0, done.stderr
    assert ("Search space: y: pinned to 'y=0' by the command line, not searched (configured: "
            "hydra.sweeper.params.y=choice(-5 ,0 ,5))") in done.stdout
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert sorted(r["params"]["x"] for r in records) == [0, 1, 2]
    for record in records:
        assert "y" not in record["params"]
        assert "y=0" in yaml.safe_load((Path(record["job_dir"]) / ".hydra" / "overrides.yaml").read_text())
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert results["best_params"] == {"x": 0} and results["recommended_params"] == {"x": 0}

    refused = run("y=5")
    assert refused.returncode != 0
    assert "holds a sweep with other command-line pins (y was pinned to 'y=0' then, to 'y=5' now)" in refused.stderr


def _convert(*args) -> SimpleNamespace:
    """``skopt-from-optuna ARGS``, run here (test_template_app runs it in a subprocess): its
    exit status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = optuna_door.main([str(arg) for arg in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.mark.parametrize("content, message", [
    (bytes(range(256)) * 8, "config.yaml: not a UTF-8 text file (invalid start byte at byte 128); give the YAML config file"),
    (b"hydra: [1, 2]\n", "config.yaml: hydra=[1, 2]: must be a mapping of config keys"),
    (b'hydra:\n  sweeper: "str"\n', "config.yaml: hydra.sweeper='str': must be a mapping of config keys"),
    (b"defaults: 5\n", "config.yaml: defaults=5: must be a list of config groups and files"),
    (b"hydra:\n  sweeper:\n    n_trials: -4\n", "config.yaml: hydra.sweeper.n_trials=-4: must be an integer >= 1"),
    (b"hydra:\n  sweeper:\n    n_trials: 2.5\n", "config.yaml: hydra.sweeper.n_trials=2.5: must be an integer >= 1"),
    (b"hydra:\n  sweeper:\n    n_jobs: -1\n", "config.yaml: hydra.sweeper.n_jobs=-1: must be an integer >= 1; leave it out"),
    (b"hydra:\n  sweeper:\n    sampler:\n      seed: -3\n", "config.yaml: hydra.sweeper.sampler.seed=-3: must be an integer >= 0"),
    (b"hydra:\n  sweeper:\n    sampler:\n      n_startup_trials: many\n", "sampler.n_startup_trials='many': must be an integer >= 0"),
    (b"- a\n- b\n", "config.yaml: not a mapping of config keys"),
    (b"a: [\n", "config.yaml: while parsing a flow node"),
])
def test_the_converter_refuses_a_file_it_cannot_read_in_one_line(tmp_path, content, message):
    source = tmp_path / "config.yaml"
    source.write_bytes(content)
    done = _convert(source, "-o", tmp_path / "out.yaml")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("skopt-from-optuna: error: ") and len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr and not (tmp_path / "out.yaml").exists()


def test_the_converter_refuses_a_directory_as_input_or_output_in_one_line(tmp_path):
    source = tmp_path / "config.yaml"
    source.write_text("hydra:\n  sweeper:\n    n_trials: 4\n")
    for args, named in (([source, "-o", tmp_path], tmp_path), ([tmp_path], tmp_path)):
        done = _convert(*args)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr == f"skopt-from-optuna: error: {named}: Is a directory\n"
    done = _convert(source, "-o", tmp_path / "out.yaml")
    assert done.returncode == 0 and "n_calls: 4" in (tmp_path / "out.yaml").read_text()
