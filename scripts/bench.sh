#!/usr/bin/env bash
# The engine benchmark of docs/benchmarks/README.md on this machine: SmolLM2-135M-Instruct,
# scoring tests/data/pool.csv and CoS-Low on tests/data/labeled.csv, once per backend, with
# each step's nominal GFLOP and GFLOP/s (crates/engine/src/flops.rs), wall and CPU time,
# peak memory and the load average around it.
#
#   scripts/bench.sh                        # cpu and gpu, 200 prompts, 32 examples
#   scripts/bench.sh --backends gpu --prompts 8 --examples 4
#
# The GPU backend uses the best adapter wgpu finds (Vulkan/Metal/DX12), software ones included.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
backends="cpu gpu"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --backends) backends="$2"; shift 2 ;;
        --prompts|--examples|--batch) args+=("$1" "$2"); shift 2 ;;
        *) echo "usage: scripts/bench.sh [--backends 'cpu gpu'] [--prompts N] [--examples N] [--batch N]" >&2; exit 2 ;;
    esac
done
scripts/fetch-model.sh
CARGO_INCREMENTAL=0 cargo build --release --locked -p labelcast-engine --example bench >&2
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | xargs), $(nproc) threads"
command -v nvidia-smi >/dev/null && echo "# gpu: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader)"
# /usr/bin/time (Debian package "time") adds CPU time and peak memory when present.
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB")
for b in $backends; do
    echo "## backend $b (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
    "${timer[@]}" target/release/examples/bench score coslow --backend "$b" "${args[@]}" 2>&1 |
        grep -v XDG_RUNTIME_DIR
    echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
done
