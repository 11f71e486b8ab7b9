#!/usr/bin/env bash
# The engine benchmark on a machine with a real GPU (docs/benchmarks/gpu-h200.md), from
# prebuilt binaries, for a machine that has no Rust toolchain: SmolLM2 on the GPU (Vulkan)
# and on the CPU of the same machine, the GPU op tests (one process per test: see the doc),
# the tiny reference models GPU vs CPU, and a synthetic Llama-3.1-8B-shaped model on the GPU.
#
# Here, build and pack the binaries (release, stripped):
#   cargo build --release --locked -p labelcast-engine --example bench
#   cargo build --release --locked -p labelcast-modelfile --example synth_model
#   cargo test --release --locked -p labelcast-gpu -p labelcast-engine --no-run --test ops --test gpu_reference
# then copy bench, synth_model, ops and gpu_reference (the test binaries without their hash
# suffix) into $BIN on the GPU machine, with the repository checked out at the path it was
# built from (the binaries find tests/data and tests/reference through it), and run:
#   BIN=/root/bin MODEL=/root/SmolLM2-135M-Instruct.Q4_1.gguf scripts/bench-gpu-machine.sh
# On an NVIDIA machine without a Vulkan loader, unpack Debian's libvulkan1, libglvnd0, libglx0,
# libegl1, libgl1 first (NVIDIA's Vulkan driver needs the GL vendor-neutral dispatch).
set -uo pipefail
cd "$(dirname "$0")/.."
: "${BIN:?the folder of the prebuilt binaries}" "${MODEL:?the SmolLM2-135M-Instruct GGUF}"
log() { echo "=== $(date -u +%T) $*"; }
log gpu; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
grep -m1 'model name' /proc/cpuinfo; nproc; cat /proc/loadavg
f=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $f ] && export VK_DRIVER_FILES=$f
TV=""; [ -x /usr/bin/time ] && TV="/usr/bin/time -v"
quiet='^\s+(Page|File|Socket|Signal|Swap|Vol|Invol|Average|Minor|Major|Exit|Perc|System time|User time)'
export LABELCAST_SMOLLM2_GGUF=$MODEL
log bench gpu smollm2; timeout 200 $TV "$BIN/bench" score coslow --backend gpu 2>&1 | grep -v -E "$quiet"
log bench cpu smollm2; timeout 150 $TV "$BIN/bench" score coslow --backend cpu 2>&1 | grep -v -E "$quiet"
log gpu ops tests, one process each
(cd crates/gpu && for t in $("$BIN/ops" --list --format terse 2>/dev/null | sed -n 's/: test$//p'); do
    timeout 30 "$BIN/ops" --exact "$t" -q >/tmp/t.log 2>&1 && echo "ok $t" || { echo "FAIL $t"; tail -5 /tmp/t.log; }
done)
log gpu_reference; (cd crates/engine && timeout 60 "$BIN/gpu_reference" --test-threads=1 2>&1 | tail -4)
synthetic=${SYNTHETIC:-/tmp/llama-3.1-8b-synthetic.gguf}
[ -f "$synthetic" ] || timeout 120 "$BIN/synth_model" --family llama-3.1-8b-instruct --type q4_0 \
    --tokenizer-from "$MODEL" --out "$synthetic" 2>&1 | tail -1
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >/tmp/mem.txt 2>&1 &
sampler=$!
log bench gpu llama8b-synthetic
LABELCAST_SMOLLM2_GGUF=$synthetic timeout 150 $TV "$BIN/bench" score coslow --backend gpu --prompts 32 --examples 8 2>&1 |
    grep -v -E "$quiet|identical"
kill $sampler; log peak GPU memory MiB; sort -n /tmp/mem.txt | tail -1
log done
