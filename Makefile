# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= build

.PHONY: demo test sandbox lab bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-notebooks: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[notebooks]'
	touch $@

$(VENV)/.installed-lab: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[lab]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[test]'
	touch $@

## make demo: install okta_magic with the sandbox and run the quickstart end to end against it
demo: $(VENV)/.installed-notebooks
	$(PY) -m okta_magic.demo --out $(OUT)

## make test: install the test extras and run the whole suite
test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make sandbox: serve the sandbox org in the foreground
sandbox: $(VENV)/.installed-notebooks
	$(PY) -m okta_magic.sandbox

## make lab: JupyterLab on notebooks/
lab: $(VENV)/.installed-lab
	$(VENV)/bin/jupyter lab notebooks/

## make bench: speed and memory figures (not part of the test suite)
bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_sandbox.py
	$(PY) benchmarks/bench_pull.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
