# Two entry points: `make demo` runs a real sweep of the Lightning example,
# `make test` runs the test suite. Both create .venv and install on first use.
#
# TORCH picks the torch build installed before the project. The default is the
# CPU wheel; set TORCH= (empty) to keep a torch already in the venv, or e.g.
# TORCH="torch==2.5.1" for your own build.
PYTHON ?= python3.11
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the tests also run sweeps through the cluster launchers (submitit_local, Ray on this machine)
TEST_STAMP := $(VENV)/.installed-cluster

.PHONY: demo test test-fast docs venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if [ -n "$(TORCH)" ]; then $(PY) -m pip install --quiet "$(TORCH)"; fi
	$(PY) -m pip install --quiet -e ".[example,dev]"
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[example,dev,cluster]"
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(PY) example_app/train.py -m experiment=tune_mlp
	@d=$$(ls -d multirun/tune_mlp/*/ | tail -1); \
	echo "Sweep dir: $$d (optimization_results.yaml, trials.csv, the pictures: convergence, objective, slices, importance, parallel, curves)"; \
	echo "Everything on one page: $${d}report.html"; \
	echo "Best trials and plots: $(VENV)/bin/skopt-report $$d"; \
	echo "Every trial in TensorBoard: $(VENV)/bin/tensorboard --logdir $$d"

# The suite runs on TEST_WORKERS processes (pytest-xdist); tests/conftest.py keeps the tests that
# share an engine on this machine (Ray, SLURM), a browser or a module's sweep together, on one worker.
# The report page's browser tests need Debian's Chromium: installed first when missing (as root);
# if it cannot be, those tests fail with the reason (SKOPT_REQUIRE_BROWSER=1) instead of skipping.
TEST_WORKERS ?= 4
test: $(TEST_STAMP)
	-bash tests/engines/chromium_up.sh
	SKOPT_REQUIRE_LAUNCHERS=1 SKOPT_REQUIRE_BROWSER=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The edit loop: units and in-process sweeps, without the tests marked slow (a sweep in a
# subprocess, an engine, the browser, or more than about a second of CPU); make test runs everything.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" -q $(PYTEST_ARGS)

# The documentation site from docs/ into site/ (open site/index.html): strict, so a warning, a
# broken link or anchor, or a docstring the API reference cannot read fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict
	@echo "The site: site/index.html"

clean:
	rm -rf multirun outputs lightning_logs .pytest_cache site
