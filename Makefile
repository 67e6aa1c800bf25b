# tempeval: `make run` (main job on the built-in default), `make test`, `make check`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs

.PHONY: run test check bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps re-install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

SITE ?= site

run: $(VENV)/.installed
	$(VENV)/bin/tempeval run --model random --task synth --out $(OUT)
	$(VENV)/bin/tempeval leaderboard build $(OUT) -o $(SITE)

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check tempeval adapters leaderboard tests bench
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-dev
	$(PY) bench/frame_sampling.py
	$(PY) bench/online_workload.py
	$(PY) bench/stream_decode.py
	$(PY) bench/api_throughput.py
	$(PY) bench/engine_pipeline.py
	$(PY) bench/scoring.py
	$(PY) bench/diagnose_runs.py
	$(PY) bench/leaderboard_build.py

clean:
	rm -rf $(VENV) build *.egg-info
