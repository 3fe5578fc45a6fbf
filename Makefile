# Two-command quick start: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU wheel of torch 2.13.0 lies here on the build machines; without it pip would fetch
# a multi-GB CUDA build.
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)

.PHONY: install test lint typecheck demo bench screenshots package package-test clean

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

# mypy's settings (strict on analysis, model, readerstudy.study) are in pyproject.toml.
typecheck: $(STAMP)
	$(PY) -m mypy

# The second run executes the analysis docstring examples on analysis/data (a few seconds).
test: lint typecheck
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto
	$(PY) -m pytest -q --doctest-modules analysis

demo: $(STAMP)
	$(VENV)/bin/readerstudy demo

bench: $(STAMP)
	$(PY) -m benchmarks

# Real windows under Xvfb (apt: xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
# libxcb-keysyms1 libxcb-xinerama0), saved to docs/screenshots/ for docs/rater.md.
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1920x1080x24" $(PY) docs/screenshots/make_screenshots.py

# The site build (docs/deployment.md): dist/readerstudy/ and its .tar.zst archive, then the
# smoke test of the built binary. PyInstaller comes from the `package` extra.
PACKAGE_STAMP := $(VENV)/.package-stamp

$(PACKAGE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet $(FIND_LINKS) -e '.[package]'
	@touch $(PACKAGE_STAMP)

package: $(PACKAGE_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) packaging/build.py
	$(MAKE) package-test

# Uses dist/readerstudy (or $$READERSTUDY_BUILD); builds it first when missing.
package-test: $(PACKAGE_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m package tests/packaging

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .mypy_cache
