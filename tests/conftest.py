"""How ``make test`` spreads the suite over pytest-xdist workers (``-n N``).

Each test is a unit of its own, except the tests that share something machine-wide or
expensive, which form one unit, run one after another on one worker (:func:`shared_unit`): the
Ray cluster tests (a module-scoped cluster, and ``ray start --head`` binds fixed ports), the Ray
launcher tests (each sweep brings up a whole local Ray: one at a time), the one SLURM on this
machine (fixed ports, one set-up), a module-scoped sweep that a module's tests read, and the
report page's headless browser. The two
Ray units run side by side: the cluster keeps its own temp dir, so a local ``ray.init()`` never
joins it, and stopping it stops no other Ray (see tests/test_ray_cluster.py). Units start
longest first (:data:`LONG_FIRST`), so that no long test starts last. Without xdist nothing
here changes the run.
"""
from typing import Optional

import pytest

# the tests that start a Ray cluster, and those that start a local Ray (the "[ray-..." parameters)
RAY_CLUSTER_MODULES = ("tests/test_ray_cluster.py",)
RAY_LOCAL_PARAMETRIZED = ("tests/test_launchers.py",)
# modules whose tests share a module-scoped fixture (a SLURM, a finished sweep, a browser): set up once
SHARED_MODULES = ("tests/test_slurm.py", "tests/test_report.py", "tests/test_report_page.py",
                  "tests/test_pruning.py", "tests/test_scheduling.py", "tests/test_robustness.py",
                  "tests/test_sweep_integration.py")
# modules whose tests take longest, in the order their units are handed out; the rest follow
LONG_FIRST = (
    "tests/test_ray_cluster.py", "tests/test_launchers.py", "tests/test_example_e2e.py", "tests/test_slurm.py",
    "tests/test_template_app.py", "tests/test_metric_constraints.py", "tests/test_multi_objective.py",
    "tests/test_robustness.py", "tests/test_scheduling.py",
    "tests/test_sweep_integration.py", "tests/test_pruning.py", "tests/test_hydra_suite.py",
    "tests/test_report.py",
)


def shared_unit(nodeid: str) -> Optional[str]:
    """The unit a test must share with others, or None when it can run on any worker."""
    module, _, rest = nodeid.partition("::")
    if module in RAY_CLUSTER_MODULES:
        return "ray cluster"
    if module in RAY_LOCAL_PARAMETRIZED and "[ray-" in rest:
        return "ray local"
    if module in SHARED_MODULES:
        return module
    return None


def _long_first(nodeid: str) -> int:
    module = nodeid.partition("::")[0]
    return LONG_FIRST.index(module) if module in LONG_FIRST else len(LONG_FIRST)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist load`` (``-n`` alone) and ``--dist loadgroup`` (what ``make test`` asks for), with
    the units of :func:`shared_unit` (xdist's own ``xdist_group`` marks leave every test on its
    own with pytest >= 9.2)."""
    if config.getoption("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedUnitScheduling(LoadScopeScheduling):
        """Load scheduling, one test at a time, with :func:`shared_unit`'s tests kept together."""

        def _split_scope(self, nodeid: str) -> str:
            return shared_unit(nodeid) or nodeid

    config.option.loadscopereorder = False  # units go out in the collection order below
    return SharedUnitScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike
        items.sort(key=lambda item: _long_first(item.nodeid))
