#!/bin/bash
# scanners_vs_clamscan.sh - Moat's decomposition + in-process ClamAV vs clamscan, same files, same run.
#
# usage: tests/bench/scanners_vs_clamscan.sh [BUILD_DIR]      (default: build)
#
# 1. builds scanners_bench if needed and runs it with --export-corpus: the message set (shared MIME
#    corpora + generated archive messages + clamav-testfiles attachments) and the ClamAV database
#    it scans with are written to a temp dir, then the Google Benchmarks run;
# 2. runs clamscan with the same database over the same message files (clamscan parses the mail
#    and the archives itself), timing the engine load separately (clamscan on an empty dir);
# 3. prints both: MB/s and messages/s per CPU second (the benchmark reports CPU time; on a shared
#    machine CPU time is the fair measure) and clamscan's wall time as well.
# MOAT_BENCH_CLAMAV_DB=/var/lib/clamav uses the official database for both when it is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
py=/usr/bin/python3

if [ ! -x "$build/bench/scanners_bench" ]; then
  ninja -C "$build" scanners_bench
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/scanners_bench" --export-corpus="$work" --benchmark_format=console \
  --benchmark_out="$work/bench.json" --benchmark_out_format=json 2> "$work/bench.log" \
  | grep -v '^\[' || true
messages=$(find "$work/messages" -type f | wc -l)
bytes=$(cat "$work"/messages/* | wc -c)

cpu_seconds() {  # runs "$@", prints "wall user+sys" in seconds
  local TIMEFORMAT='%R %U %S'
  { time "$@" > /dev/null 2>&1 || true; } 2>&1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}
mkdir -p "$work/empty"
read -r load_wall load_cpu < <(cpu_seconds clamscan --no-summary -d "$work/db" -r "$work/empty")
read -r scan_wall scan_cpu < <(cpu_seconds clamscan --no-summary -d "$work/db" -r "$work/messages")
infected=$(clamscan --no-summary --infected -d "$work/db" -r "$work/messages" 2>/dev/null | grep -c FOUND || true)

"$py" - "$work/bench.json" "$messages" "$bytes" "$load_wall" "$load_cpu" "$scan_wall" "$scan_cpu" \
  "$infected" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
messages, size = int(sys.argv[2]), int(sys.argv[3])
load_wall, load_cpu, scan_wall, scan_cpu = map(float, sys.argv[4:8])
infected = int(sys.argv[8])
mb = size / 1e6
print(f"\nmessage set: {messages} messages, {mb:.1f} MB")
print(f"{'what':58} {'MB/s':>8} {'msgs/s':>9}  notes")
for b in bench["benchmarks"]:
    name = b["name"].split("/")[0]
    mbs = b["bytes_per_second"] / 1e6
    ips = b["items_per_second"]
    note = f"infected messages {int(b['infected_messages'])}" if "infected_messages" in b else ""
    print(f"{'moat ' + name + ' (per CPU s)':58} {mbs:8.1f} {ips:9.1f}  {note}")
net_cpu = max(scan_cpu - load_cpu, 1e-6)
net_wall = max(scan_wall - load_wall, 1e-6)
print(f"{'clamscan, engine load excluded (per CPU s)':58} {mb / net_cpu:8.1f} {messages / net_cpu:9.1f}  "
      f"infected messages {infected}")
print(f"{'clamscan, whole run incl. load (per CPU s)':58} {mb / scan_cpu:8.1f} {messages / scan_cpu:9.1f}  "
      f"load {load_cpu:.2f} CPU s")
print(f"{'clamscan, wall clock incl. load':58} {mb / scan_wall:8.1f} {messages / scan_wall:9.1f}  "
      f"{scan_wall:.2f} s wall")
PY
