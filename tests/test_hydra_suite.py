"""Hydra's own integration suite for sweepers and launchers, run with ``hydra/sweeper=skopt_gp``.

It checks the things every Hydra user relies on in a multirun: job names, sweep and job
directories, ``override_dirname``, ``get_original_cwd`` and ``to_absolute_path``. With no
search space the sweeper runs the composed config once, as Hydra's basic sweeper does.

It runs under Hydra's basic launcher: what it checks is the sweeper's part (the overrides and
job numbers it hands to ``launcher.launch``), the same for every launcher; each launcher's own
part is its plugin's (hydra-joblib-launcher runs this suite itself), and this project's sweeps
through joblib, Ray and submitit are in test_sweep_integration, test_scheduling and test_launchers.
"""
from hydra.test_utils.launcher_common_tests import IntegrationTestSuite
from pytest import mark

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = mark.slow


@mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({}, ["-m", "hydra/sweeper=skopt_gp"])],
    ids=["basic_launcher"],
)
class TestSkoptSweeperIntegration(IntegrationTestSuite):
    pass
