# Espoo Sustainability Assistant. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install system index run reader test test-fast bench lint docs clean help

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## Create .venv and install the project (idempotent)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dev,train]'
	@touch $(STAMP)

index: install  ## Build or update the index of documents/
	$(PY) -m assistant build

run: index  ## Set up, update the index, start the app (watching documents/)
	$(PY) app.py

reader: index  ## Retrain the reader and its answerability model here, into index/scorers/ (the package ships one; ~15 min)
	$(PY) -m assistant train-reader
	$(PY) -m assistant train-scorer --reader

system:  ## Install the system packages the tests need (Chromium, fonts), or say which to install
	@bash scripts/system-deps.sh

test: system install  ## Set up and run the whole test suite (several minutes)
	$(PY) -m pytest

test-fast: install  ## The core without slow, browser and server tests: under a minute, no Chromium
	$(PY) -m pytest -m "not slow and not browser and not server"

bench: install  ## Run every benchmark; tables go to docs/benchmarks.md
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) bench/run_all.py

lint: install  ## ruff and mypy
	$(PY) -m ruff check assistant tests bench app.py
	$(PY) -m mypy assistant

clean:  ## Remove the virtualenv and the built index (documents are kept)
	rm -rf $(VENV) index/v-* index/.build-* index/CURRENT

docs: install  ## Regenerate docs/cli.md from the CLI's --help
	$(PY) docs/gen_cli.py
