# Two-command quick start: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU wheel of torch 2.13.0 lies here on the build machines; without it pip would fetch
# a multi-GB CUDA build.
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)

.PHONY: install test lint demo bench screenshots package clean

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

# Real windows under Xvfb (apt: xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
# libxcb-keysyms1 libxcb-xinerama0), saved to docs/screenshots/ for docs/rater.md.
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1920x1080x24" $(PY) docs/screenshots/make_screenshots.py

package: $(STAMP)
	@echo "make package: the PyInstaller build is not built yet (packaging issue)."

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
