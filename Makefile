# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed

.PHONY: install run test lint check lock bench audit clean help

help:
	@echo "make run    start the whole platform locally (Dagster UI on http://127.0.0.1:3000)"
	@echo "make test   run the whole test suite (lint included)"
	@echo "make lint   ruff, mypy, import-linter only"
	@echo "make lock   re-resolve and pin every dependency into requirements.lock"
	@echo "make bench  run the benchmarks"
	@echo "make audit  pip-audit the locked dependencies (needs the PyPI JSON API or OSV)"

# One resolve for everything, pinned in requirements.lock; uv installs it in seconds.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found " + sys.version.split()[0] + "): set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(PY) --quiet -r requirements.lock
	$(UV) pip install --python $(PY) --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/lucent up

lint: install
	$(VENV)/bin/ruff check lucent_platform streaming assets sensors resources tests
	$(VENV)/bin/ruff format --check lucent_platform streaming assets sensors resources tests
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy lucent_platform streaming

# Three workers: most tests wait on a broker, NATS, ClickHouse or a worker they killed (two used
# 40 % of the 2 cores); each starts its own services. --dist loadgroup hands out one test at a
# time, the `slow` ones first (tests/conftest.py); --durations shows the slowest of every run.
test: install lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup --durations=25

check: test

# Every benchmark (figures printed; the processor and apps ones run several minutes each). The Dagster-side ones are
# scripts beside the tests they reuse (local exchange, embedded services), run from the clone.
bench: install
	$(VENV)/bin/lucent bench envelope
	$(VENV)/bin/lucent bench feed
	$(VENV)/bin/lucent bench processor
	$(VENV)/bin/lucent bench clickhouse-server
	$(VENV)/bin/lucent bench sink
	$(VENV)/bin/lucent bench apps
	$(VENV)/bin/python -m benchmarks.history_backfill
	$(VENV)/bin/python -m benchmarks.dataset_build
	$(VENV)/bin/python -m benchmarks.domain_events

# pip-audit (pinned, run by uvx: not in the lock, since it cannot audit on the build machines)
# on every pinned dependency. --strict: a package that cannot be checked (the vulnerability
# service unreachable) fails instead of passing quietly. Accepted findings: audit-allowlist.txt.
PIP_AUDIT_VERSION := 2.10.1
audit: $(VENV)/bin/uv
	$(VENV)/bin/uvx --from pip-audit==$(PIP_AUDIT_VERSION) pip-audit --strict --disable-pip \
		--no-deps -r requirements.lock \
		$$(awk '!/^[[:space:]]*(#|$$)/ {printf "--ignore-vuln %s ", $$1}' audit-allowlist.txt)

lock: $(VENV)/bin/uv
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

$(VENV)/bin/uv:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)

clean:
	rm -rf $(VENV) .venv-bench .lucent .pytest_cache .mypy_cache .ruff_cache
