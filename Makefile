# The two commands of the quick start are `make demo` and `make test`; each does
# all the set-up it needs. `make setup` alone creates .venv with the dev extras.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_MODEL ?= lenet_modern

.PHONY: setup data demo test lint format clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes (whose package-dir makes the editable
# install a path type checkers follow).
# PyTorch's wheels (a CUDA build on x86_64 Linux) take about 6 GB in the venv: say so
# up front when the disk is short, since pip's own words for it are "Errno 28".
$(STAMP): pyproject.toml
	@free_kb=$$(df -Pk . | awk 'NR==2 {print $$4}'); [ "$$free_kb" -ge 7000000 ] || \
	  echo "warning: $$((free_kb / 1024)) MB free on this disk; the venv with PyTorch needs about 6,000 MB" >&2
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

# vermin: nothing in the code needs a Python newer than requires-python's 3.10 ('long'
# is excluded: it mistakes torch's Tensor.long() for Python 2's long).
PY_FLOOR_CHECK := $(VENV)/bin/vermin -q --no-tips --violations --eval-annotations \
	--exclude long -t=3.10- cnnlab scripts tests
# Every text file opened with an explicit encoding: without one Windows reads and writes
# its ANSI code page (cp1252), which cannot hold the "→", "−" or "α" that reports carry,
# nor the UTF-8 of a user's YAML. A preview rule, so checked alone (--preview for all
# of ruff's rules would change the stable ones' behaviour from release to release).
ENCODING_CHECK := $(VENV)/bin/ruff check --preview --select PLW1514 .

# The suite in a process per core, up to 4 (pytest-xdist): its tests run PyTorch on one
# thread each, so a single process used one core of the machine. More than 4 would mostly
# add memory (every process holds PyTorch, and the parity tests build VGG-16 twice).
# Tests that start a local Ray cluster share an xdist_group (--dist loadgroup): one at a
# time. `TEST_PROCESSES=0 make test` runs them all in this process, as plain pytest does.
TEST_PROCESSES ?= auto
test: setup data
	$(VENV)/bin/ruff check .
	$(ENCODING_CHECK)
	$(PY_FLOOR_CHECK)
	$(PY) -m pytest -q -n $(TEST_PROCESSES) --maxprocesses=4 --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check .
	$(ENCODING_CHECK)
	$(PY_FLOOR_CHECK)
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
