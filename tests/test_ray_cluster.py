"""A real two-node Ray cluster on this machine (``ray start`` twice, 1 CPU each, 127.0.0.1),
and sweeps through it with the Ray launcher: trials land on both nodes, in both schedulings.

Under ``make test`` (SKOPT_REQUIRE_LAUNCHERS=1) a cluster that cannot be brought up fails the
test; elsewhere the tests skip with the reason.
"""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
ROOT = Path(__file__).resolve().parent.parent
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


def _ray(*args, env, timeout=120):
    return subprocess.run([str(Path(sys.executable).parent / "ray"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _start_cluster():
    """Start a head and a second node, 1 CPU each; returns (address, the second node's
    node-manager port, env) once both are up."""
    try:
        import hydra_plugins.hydra_ray_launcher  # noqa: F401
    except ImportError:
        _fail_or_skip("hydra-ray-launcher is not installed: pip install -e '.[ray]'")
    if not (Path(sys.executable).parent / "ray").exists():
        _fail_or_skip("the ray command is not installed")
    env = {**os.environ, **ENV}
    port, node_port = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--object-store-memory=78643200"]
    head = _ray("start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                "--include-dashboard=false", *common, env=env)
    if head.returncode != 0:
        _fail_or_skip(f"ray start --head failed: {head.stderr[-2000:]}")
    node = _ray("start", f"--address={address}", "--node-ip-address=127.0.0.1",
                f"--node-manager-port={node_port}", *common, env=env)
    if node.returncode != 0:
        _fail_or_skip(f"ray start --address failed: {node.stderr[-2000:]}")
    deadline = time.monotonic() + 60
    while True:  # polled until both nodes are up
        status = _ray("status", f"--address={address}", env=env, timeout=60)
        if status.stdout.count(" node_") >= 2:  # "Active:" lists one line per node
            return address, node_port, env
        if time.monotonic() > deadline:
            _fail_or_skip(f"the second Ray node never joined:\n{status.stdout[-2000:]}{status.stderr[-1000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def ray_cluster():
    """``address`` of a head and a second node, each with 1 CPU; stopped at the end."""
    try:
        address, _, _ = _start_cluster()
        yield address
    finally:
        _ray("stop", "--force", env={**os.environ, **ENV}, timeout=60)


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
    """The second node's raylet killed while both nodes run a trial: with Ray's retries the
    trial runs again on the head; without, it is recorded failed; the sweep goes on either way."""
    try:
        address, node_port, env = _start_cluster()
        sweep_dir = tmp_path / "sweep"
        # trials long enough that the killed node's worker notices before its trial could end
        cmd = _sweep_command(sweep_dir, address, "sleep=10", "hydra.sweeper.n_calls=4",
                             "hydra.sweeper.n_initial_points=4", f"+hydra.launcher.ray.remote.max_retries={retries}")
        process = subprocess.Popen(cmd, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while len({p.read_text() for p in sweep_dir.glob("*/node.txt")}) < 2:  # both nodes busy
                assert time.monotonic() < deadline and process.poll() is None, "the trials never ran on both nodes"
                time.sleep(0.1)
            subprocess.run(["pkill", "-KILL", "-f", f"node_manager_port={node_port}"], check=True)
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
    finally:
        _ray("stop", "--force", env={**os.environ, **ENV}, timeout=60)
