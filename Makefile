# Two-command quick start: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU wheel of torch 2.13.0 lies here on the build machines; without it pip would fetch
# a multi-GB CUDA build.
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)

.PHONY: install test lint demo bench package clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(FIND_LINKS) -e '.[dev,postgres]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto

demo: $(STAMP)
	$(VENV)/bin/readerstudy demo

bench: $(STAMP)
	$(PY) -m benchmarks

package: $(STAMP)
	@echo "make package: the PyInstaller build is not built yet (packaging issue)."

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
