#!/usr/bin/env bash
# Runs a command and reports its peak memory split the way docs/benchmarks/cpu.md gives it:
# the process's own memory (RssAnon) and mapped file pages (RssFile), sampled twice a second
# from /proc/PID/status (Linux), with /usr/bin/time's wall time and peak RSS when present.
#
#   scripts/peak-memory.sh target/release/labelcast coslow --model l8.gguf --data lab4.csv --backend cpu --json
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/peak-memory.sh COMMAND [ARGS...]" >&2; exit 2; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$@" &
pid=$!
anon=0 file=0
while kill -0 "$pid" 2>/dev/null; do
    a=$(awk '/^RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null)
    f=$(awk '/^RssFile/{print $2}' "/proc/$pid/status" 2>/dev/null)
    [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    [ -n "$f" ] && [ "$f" -gt "$file" ] && file=$f
    sleep 0.5
done
wait "$pid"
rc=$?
echo "peak RssAnon $anon KiB, peak RssFile $file KiB; load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit $rc
