# The two commands of the quick start are `make demo` and `make test`; each does
# all the set-up it needs. `make setup` alone creates .venv with the dev extras.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_MODEL ?= lenet_modern

.PHONY: setup data demo test lint format clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Fashion-MNIST: Debian's package when we can install it (root on Debian),
# otherwise cnnlab downloads and verifies the files into ~/.cache/cnnlab.
data: setup
	@sh scripts/get-data.sh $(PY)

demo: setup data
	$(VENV)/bin/cnnlab train $(DEMO_MODEL) --preset fast --epochs 10

test: setup data
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
