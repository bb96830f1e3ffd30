# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BENCH_VENV ?= .venv-bench
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= build
NPM    ?= npm
OIDC   := tests/oidc
HUB    := tests/hub

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

# The third-party OpenID provider (npm oidc-provider) the sign-in is proven against, installed
# exactly as its lock file pins it; the stamp is newer than both files once `npm ci` succeeded.
# Without Node.js at all its tests skip, so make says how to get it and goes on; with Node.js but
# no npm, or under CI (CI=true), a missing npm stops make, since those tests would fail.
$(OIDC)/node_modules/.installed-test: $(OIDC)/package.json $(OIDC)/package-lock.json
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  echo "$(NPM) ci --prefix $(OIDC)"; \
	  $(NPM) ci --prefix $(OIDC) --no-audit --no-fund --loglevel=error && touch $@; \
	elif command -v node >/dev/null 2>&1 || [ "$${CI:-}" = true ]; then \
	  echo "make: npm is missing; the oidc-provider tests need it (apt-get install npm)" >&2; exit 1; \
	else \
	  echo "make: Node.js is missing, so the oidc-provider tests will skip (apt-get install nodejs npm)" >&2; \
	fi

# JupyterHub's configurable-http-proxy for the JupyterHub browser test, pinned by its lock file the same
# way (and with the same rules when npm or Node.js is missing).
$(HUB)/node_modules/.installed-test: $(HUB)/package.json $(HUB)/package-lock.json
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  echo "$(NPM) ci --prefix $(HUB)"; \
	  $(NPM) ci --prefix $(HUB) --no-audit --no-fund --loglevel=error && touch $@; \
	elif command -v node >/dev/null 2>&1 || [ "$${CI:-}" = true ]; then \
	  echo "make: npm is missing; the JupyterHub test needs it (apt-get install npm)" >&2; exit 1; \
	else \
	  echo "make: Node.js is missing, so the JupyterHub test will skip (apt-get install nodejs npm)" >&2; \
	fi

## make demo: install okta_magic with the sandbox and run the quickstart end to end against it
demo: $(VENV)/.installed-notebooks
	$(PY) -m okta_magic.notebook.demo --out $(OUT)

## make test: install the test extras and the npm test provider and hub proxy, then run the whole suite
test: $(VENV)/.installed-test $(OIDC)/node_modules/.installed-test $(HUB)/node_modules/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make sandbox: serve the sandbox org in the foreground
sandbox: $(VENV)/.installed-notebooks
	$(PY) -m okta_magic.sandbox

## make lab: JupyterLab on notebooks/
lab: $(VENV)/.installed-lab
	$(VENV)/bin/jupyter lab notebooks/

# The Okta SDK, which benchmarks/bench_pull.py and bench_fanout.py compare against, in a venv of its own: it is not a
# dependency of okta_magic and never goes into $(VENV).
$(BENCH_VENV)/.installed-sdk:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet 'okta>=3,<4'
	touch $@

## make bench: speed and memory figures (not part of the test suite); bench_pull takes about 7 minutes, bench_fanout about 15, bench_sync about 25
bench: $(VENV)/.installed-test $(BENCH_VENV)/.installed-sdk
	$(PY) benchmarks/bench_sandbox.py
	$(PY) benchmarks/bench_pull.py --sdk-python $(BENCH_VENV)/bin/python
	$(PY) benchmarks/bench_fanout.py --sdk-python $(BENCH_VENV)/bin/python
	$(PY) benchmarks/bench_sync.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(OUT) .pytest_cache $(OIDC)/node_modules $(HUB)/node_modules
