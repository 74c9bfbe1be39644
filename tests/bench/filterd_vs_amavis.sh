#!/bin/bash
# filterd_vs_amavis.sh - pass-through throughput of moat-filterd over LMTP against amavisd-new
# on the same path, in the same sitting (../shared/bench, scenario s3-amavis-lmtp).
#
#   smtp-source -L (1, 10, 50 sessions, new connection per message)
#     -> moat-filterd inbound LMTP listener -> SMTP reinjection -> smtp-sink -d (tmpfs)
#   smtp-source -L -> amavisd-new (+clamd) -> smtp-sink        (the anchor, s3-amavis-lmtp)
#
# Usage (from the project root, after `ninja -C build moat-filterd`):
#   tests/bench/filterd_vs_amavis.sh
# Environment: BENCH_SETS ("a b"), BENCH_CONC ("1 10 50"), BENCH_REPS (3), BENCH_TARGET_S (15),
#   SKIP_AMAVIS=1 (measure moat-filterd only), FILTERD_ARGS (extra -o options), BENCH_DIR
#   (default /work/shared/bench), MOAT_FILTERD (the binary; default build/bin/moat-filterd).
#   Results: build/bench-results/filterd/*.jsonl and summary.md.
# Metrics: moat-filterd serves /metrics on a free port; after each run (and at the end)
# metrics_vs_sink.sh scrapes it and prints the messages counter and the relayed counter beside
# the sink's count (metrics-vs-sink.log); the script fails when they disagree.
# Free loopback ports are chosen for the sink, the filter and the anchors (PF_IN, PF_RETURN,
# AMAVIS_LISTEN, BENCH_SINK), and install.sh regenerates the anchor configs for them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_DIR:-/work/shared/bench}
FILTERD=${MOAT_FILTERD:-$ROOT/build/bin/moat-filterd}
[ -x "$FILTERD" ] || { echo "build moat-filterd first: ninja -C build moat-filterd" >&2; exit 1; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export BENCH_RESULTS=${BENCH_RESULTS:-$ROOT/build/bench-results/filterd}
export BENCH_SETS=${BENCH_SETS:-"a b"}
export BENCH_CONC=${BENCH_CONC:-"1 10 50"}
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_TARGET_S=${BENCH_TARGET_S:-15}
export BENCH_SINK=127.0.0.1:$(free_port)
export PF_IN=127.0.0.1:$(free_port)
export PF_RETURN=127.0.0.1:$(free_port)
export AMAVIS_LISTEN=127.0.0.1:$(free_port)
FILTERD_LISTEN=127.0.0.1:$(free_port)
FILTERD_METRICS=127.0.0.1:$(free_port)
mkdir -p "$BENCH_RESULTS"
STATE=$(mktemp -d /tmp/moat-filterd-bench.XXXX)
chmod 755 "$STATE"
# shellcheck source=tests/bench/local_dns.sh
. "$ROOT/tests/bench/local_dns.sh"
start_local_dns "$STATE"

"$BENCH/install.sh" > "$BENCH_RESULTS/install.log" 2>&1 || { tail -20 "$BENCH_RESULTS/install.log"; exit 1; }

cleanup() { "$BENCH/harness.sh" stop filterd >/dev/null 2>&1 || true
            "$BENCH/harness.sh" sink-stop >/dev/null 2>&1 || true; stop_local_dns "$STATE"; rm -rf "$STATE"; }
trap cleanup EXIT

# --- moat-filterd ---------------------------------------------------------------------------
"$BENCH/harness.sh" sink-start
# shellcheck disable=SC2086
"$BENCH/harness.sh" spawn filterd "$FILTERD" -c "$ROOT/conf" \
  -o inbound_lmtp_listen="$FILTERD_LISTEN" -o originating_lmtp_listen= \
  -o forward_to="$BENCH_SINK" -o data_directory="$STATE" \
  -o quarantine_directory="$STATE/quarantine" -o metrics_listen="$FILTERD_METRICS" \
  -o dns_servers="$LOCAL_DNS" ${FILTERD_ARGS:-}
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/${FILTERD_LISTEN%:*}/${FILTERD_LISTEN##*:}") 2>/dev/null && break; sleep 0.1
done
export METRICS_URL=http://$FILTERD_METRICS/metrics METRICS_STATE=$STATE/metrics-state
export METRICS_LOG=$BENCH_RESULTS/metrics-vs-sink.log BENCH_DIR=$BENCH
: > "$METRICS_LOG"
CHECK="bash $ROOT/tests/bench/metrics_vs_sink.sh || true"
bash "$BENCH/bench-matrix.sh" --scenario moat-filterd-lmtp --target "$FILTERD_LISTEN" --lmtp \
  --disposed-dir "$STATE/quarantine/messages" --between-cmd "sleep 1; $CHECK" \
  --cgroups source,sink,filterd
sleep 1
bash -c "$CHECK"  # the last run
"$BENCH/harness.sh" stop filterd
"$BENCH/harness.sh" sink-stop
cp /tmp/anchors-filterd.out "$BENCH_RESULTS/moat-filterd.log" 2>/dev/null || true

# --- amavisd-new, same path -----------------------------------------------------------------
if [ "${SKIP_AMAVIS:-0}" != 1 ]; then
  "$BENCH/run-scenario.sh" s3-amavis-lmtp
fi

python3 "$BENCH/summarize.py" "$BENCH_RESULTS"/*.jsonl > "$BENCH_RESULTS/summary.md"
cat "$BENCH_RESULTS/summary.md"
runs=$(grep -c 'metrics after run' "$METRICS_LOG" || true)
bad=$(grep -c DISAGREE "$METRICS_LOG" || true)
echo "moat-filterd /metrics vs the sink: $((runs - bad)) of $runs runs agree ($METRICS_LOG)"
[ "$bad" -eq 0 ] && [ "$runs" -gt 0 ]
