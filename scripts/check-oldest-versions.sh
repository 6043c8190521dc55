#!/usr/bin/env bash
# Run the whole test suite against the oldest releases pyproject.toml admits: torch 2.4 and
# torchvision 0.19 (the floors), every other direct dependency at its floor too
# (uv's --resolution lowest-direct), in a virtual environment of its own.
#
#   bash scripts/check-oldest-versions.sh [VENV]      (default: /tmp/cnnlab-oldest)
#
# Needs the network (PyPI: a CUDA build of torch 2.4 and its libraries, about 3 GB) and
# about 20 minutes on 2 cores. Not part of `make test`: CI would double. Results are in
# BENCHMARKS.md, "Oldest supported versions".
set -euo pipefail
venv="${1:-/tmp/cnnlab-oldest}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet uv
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --resolution lowest-direct \
    "torch==2.4.1" "torchvision==0.19.1" -e "$repo[dev]"
"$venv/bin/python" -c "
import importlib.metadata as m
names = 'torch torchvision numpy typer click rich matplotlib safetensors pyyaml tensorboard pillow'
print('oldest:', ', '.join(f'{n} {m.version(n)}' for n in names.split()))"
cd "$repo"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "${@:2}"
