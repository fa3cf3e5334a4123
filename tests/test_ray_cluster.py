"""A real two-node Ray cluster on this machine (``ray start`` twice, 1 CPU each, 127.0.0.1),
and sweeps through it with the Ray launcher: trials land on both nodes, in both schedulings,
and a node killed mid-trial costs that trial at most.

Under ``make test`` (SKOPT_REQUIRE_LAUNCHERS=1) a cluster that cannot be brought up fails the
test; elsewhere the tests skip with the reason.
"""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

import pytest

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
ROOT = Path(__file__).resolve().parent.parent
RAY = Path(sys.executable).parent / "ray"
# the same on the nodes and the sweep, or the second node's `ray start` fails authenticating
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _fail_or_skip(reason):
    if os.environ.get("SKOPT_REQUIRE_LAUNCHERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A head and a second node on this machine, 1 CPU each, kept apart from any other Ray here.

    Each ``ray start`` runs in a session of its own, which every process of its node keeps (the
    raylet, its agents, its workers), so killing a session takes one node down whole, as a
    machine that goes away would, and stopping the cluster stops no other Ray (``ray stop`` would
    stop them all). The cluster keeps its files in a temp dir of its own, so a plain
    ``ray.init()`` elsewhere on this machine (the launcher tests' local Ray) never joins it.
    """

    def __init__(self) -> None:
        self.env = {**os.environ, **ENV}
        self.address = f"127.0.0.1:{_free_port()}"
        self.temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: socket paths go under it
        self.sessions: List[int] = []

    def start(self) -> None:
        """Start the head, then the second node; returns once both are up."""
        try:
            import hydra_plugins.hydra_ray_launcher  # noqa: F401
        except ImportError:
            _fail_or_skip("hydra-ray-launcher is not installed: pip install -e '.[ray]'")
        if not RAY.exists():
            _fail_or_skip("the ray command is not installed")
        self._start_node("--head", f"--port={self.address.rsplit(':', 1)[1]}", "--include-dashboard=false")
        self._start_node(f"--address={self.address}")
        deadline = time.monotonic() + 60
        while True:  # polled until both nodes are up
            status = subprocess.run([str(RAY), "status", f"--address={self.address}"], env=self.env,
                                    capture_output=True, text=True, timeout=60)
            if status.stdout.count(" node_") >= 2:  # "Active:" lists one line per node
                return
            if time.monotonic() > deadline:
                _fail_or_skip(f"the second Ray node never joined:\n{status.stdout[-2000:]}{status.stderr[-1000:]}")
            time.sleep(0.5)

    def _start_node(self, *args: str) -> None:
        # workers take ports the OS picks (as a local ray.init's do), so no two raylets here hand out the same
        command = [str(RAY), "start", *args, "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats",
                   "--object-store-memory=78643200", f"--temp-dir={self.temp_dir}",
                   "--min-worker-port=0", "--max-worker-port=0"]
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        self.sessions.append(process.pid)  # a session leader's pid is its session's id
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            _fail_or_skip(f"ray start {' '.join(args)} did not return in 120 s")
        if process.returncode != 0:
            _fail_or_skip(f"ray start {' '.join(args)} failed: {stderr[-2000:]}")

    def kill_second_node(self) -> None:
        """SIGKILL every process of the second node at once."""
        subprocess.run(["pkill", "-KILL", "-s", str(self.sessions[1])], check=True)

    def stop(self) -> None:
        for session in self.sessions:
            subprocess.run(["pkill", "-KILL", "-s", str(session)])
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def two_nodes() -> Iterator[Cluster]:
    """A :class:`Cluster`, up; stopped at the end, whatever happened."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def ray_cluster():
    """``address`` of a head and a second node, each with 1 CPU; stopped at the end."""
    with two_nodes() as cluster:
        yield cluster.address


def _sweep_command(sweep_dir, address, *overrides):
    return [sys.executable, str(APP), "-m", "hydra/sweeper=skopt_gp", "hydra/launcher=ray",
            f"hydra.sweep.dir={sweep_dir}", "x=interval(-2, 2)", "hydra.sweeper.batch_size=2",
            "hydra.sweeper.random_state=0", f"hydra.launcher.ray.init.address={address}",
            "+hydra.launcher.ray.remote.num_cpus=1", "hydra.sweeper.plots=false", *overrides]


@pytest.mark.parametrize("scheduling", ["async", "batch"])
def test_trials_land_on_both_nodes_of_a_ray_cluster(tmp_path, ray_cluster, scheduling):
    sweep_dir = tmp_path / "sweep"
    cmd = _sweep_command(sweep_dir, ray_cluster, "sleep=1", "hydra.sweeper.n_calls=6",
                         "hydra.sweeper.n_initial_points=4", f"hydra.sweeper.scheduling={scheduling}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # the launcher's default object store size is refused by a running cluster: the sweeper drops it
    assert "leaving its object store size to the cluster" in output
    records = [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 6 and all(r["status"] == "ok" for r in records), records
    nodes = {(Path(r["job_dir"]) / "node.txt").read_text() for r in records}
    assert len(nodes) == 2, "every trial ran on one node"


@pytest.mark.parametrize("retries", [0, 3])
def test_a_node_killed_mid_trial(tmp_path, retries):
    """The second node killed (raylet, agents and the worker at once) while both nodes run a
    trial: with Ray's retries the trial runs again on the head; without, it is recorded failed;
    the sweep goes on either way."""
    with two_nodes() as cluster:
        sweep_dir = tmp_path / "sweep"
        # the kill lands within a second of both trials starting: well before a trial could end
        cmd = _sweep_command(sweep_dir, cluster.address, "sleep=5", "hydra.sweeper.n_calls=4",
                             "hydra.sweeper.n_initial_points=4", f"+hydra.launcher.ray.remote.max_retries={retries}")
        process = subprocess.Popen(cmd, cwd=tmp_path, env={**cluster.env, "PYTHONPATH": str(ROOT)},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while len({p.read_text() for p in sweep_dir.glob("*/node.txt")}) < 2:  # both nodes busy
                assert time.monotonic() < deadline and process.poll() is None, "the trials never ran on both nodes"
                time.sleep(0.1)
            cluster.kill_second_node()
            output, _ = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output[-4000:]
    records = [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 4
    failed = [r for r in records if r["status"] == "failed"]
    if retries:
        assert not failed, records
    else:
        assert len(failed) == 1 and "lost" in failed[0]["error"], records
