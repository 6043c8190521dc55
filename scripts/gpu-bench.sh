#!/usr/bin/env bash
# The GPU measurements of issues 6 and 7, as one prepared script for one device call
# (under 8 minutes on one H100/H200). Run from the repository root on the GPU machine,
# with Fashion-MNIST carried in .data/fashion-mnist (the machine has no network):
#
#   mkdir -p .data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .data/fashion-mnist/
#   device run: command "bash scripts/gpu-bench.sh", carry [".data"], timeout_s 540
#
# Results land in $OUT (or ./results-gpu): JSON/CSV per step plus a log.
set -uo pipefail
export CNNLAB_DATA=${CNNLAB_DATA:-.data/fashion-mnist}
export PYTHONPATH=${PYTHONPATH:-}:$PWD
OUT=${OUT:-results-gpu}
mkdir -p "$OUT"
PY=${PY:-python3}
step() { echo "=== $* ($(date +%T))"; }
{
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"

step "1. book ResNet-18 at 96x96: training throughput, bf16 + channels_last (+ compile)"
$PY -m cnnlab bench throughput --models resnet18_d2l --image-size 96 --batch-size 1024 \
    --amp bf16 --channels-last --steps 20 --out "$OUT/throughput-resnet18.json"
$PY -m cnnlab bench throughput --models resnet18_d2l --image-size 96 --batch-size 1024 \
    --amp bf16 --channels-last --compile --steps 20 --out "$OUT/throughput-resnet18-compiled.json"

step "2. book ResNet-18, 10 epochs, full pipeline (goal >= 100,000 img/s, acc >= 0.903)"
timeout 150 $PY -m cnnlab train resnet18_d2l --preset fast --resize 96 --epochs 10 \
    --batch-size 1024 --lr 0.4 --compile --quiet --out-dir "$OUT/runs" --run-name resnet18-fast

step "3. speedrun: 10 runs to 94% (goal <= 3 s), then 95% (goal <= 15 s)"
timeout 150 $PY -m cnnlab speedrun --runs 10 --target 0.94 --out "$OUT/speedrun-94.json"
timeout 120 $PY -m cnnlab speedrun --runs 5 --target 0.95 --epochs 30 --out "$OUT/speedrun-95.json"

step "4. zoo, book preset, the 28-96 px models (the 224 px ones need their own call)"
timeout 120 $PY -m cnnlab bench zoo --preset book --models "lenet*_d2l" --out "$OUT"
} 2>&1 | tee "$OUT/gpu-bench.log"
