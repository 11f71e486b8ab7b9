#!/usr/bin/env bash
# The fuzzing campaign of issue 13 (a documented measurement, not a CI step): every target of
# fuzz/ for RUNS executions (default 10^7) from its committed seeds, one after another, with
# libFuzzer's final stats kept in fuzz/work/<target>.log and one summary line per target
# appended to docs/fuzzing-runs.tsv (target, executions, seconds, new corpus entries, findings,
# peak RSS, date, load average before). Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly --profile minimal && cargo install cargo-fuzz --locked
# Usage: scripts/fuzz.sh [target ...]   (RUNS=1000000 scripts/fuzz.sh table for a short run)
# Findings land in fuzz/artifacts/<target>/; copy each into tests/fuzz-regressions/<target>/
# (a CI test replays them) once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10000000}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(table labels gguf safetensors tokenizer_json chat_template)
cargo +nightly fuzz build -O -s none
mkdir -p fuzz/work
[ -f docs/fuzzing-runs.tsv ] || printf 'target\texecutions\tseconds\tcorpus_added\tfindings\tpeak_rss_mb\tdate\tload_before\n' > docs/fuzzing-runs.tsv
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date +%s)
  # -timeout: an input running 10 s is a hang; -rss_limit_mb: a blow-up. A finding stops the
  # target's run (saved to fuzz/artifacts/<target>/): fix it, add the regression, run again.
  set +e
  cargo +nightly fuzz run -O -s none "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
    -runs="$RUNS" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" > "fuzz/work/$t.log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "fuzz/work/$t.log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  rss=$(grep -oE 'stat::peak_rss_mb: *[0-9]+' "fuzz/work/$t.log" | tail -1 | grep -o '[0-9]*$' || echo '?')
  added=$(ls "fuzz/work/$t" | wc -l)
  found=$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$secs" "$added" "$found" "$rss" "$(date -u +%F)" "$load" >> docs/fuzzing-runs.tsv
  echo "$t: $execs executions in ${secs}s, $found findings (exit $rc)"
done
