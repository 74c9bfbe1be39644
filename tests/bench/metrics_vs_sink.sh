#!/bin/bash
# metrics_vs_sink.sh - after a benchmark run: moat-filterd's /metrics against the sink's count.
#
# The benchmark harness empties the sink's spool before each run, while moat-filterd's counters
# grow for the life of the process; so this script keeps the counters of its previous call in
# $METRICS_STATE and compares what they grew by with the messages at the sink now:
#   moat_filterd_actions_total{action="relayed"}  must equal the sink's count
#   moat_filterd_messages_total                   every message filtered (relayed + discarded +
#                                                 rejected + deferred), printed beside them
# The first call (before the first run) only records the baseline. Then one line per call goes
# to stdout and to $METRICS_LOG; a disagreement says DISAGREE there and exits 1. The scrape and the parsing are tests/integration/metrics_scrape.py (urllib and
# Prometheus' own Python parser).
#
# Environment: METRICS_URL (http://host:port/metrics of moat-filterd), METRICS_STATE (a file,
# created when missing), METRICS_LOG, BENCH_DIR (the harness, for sink-count).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_DIR:-/work/shared/bench}
: "${METRICS_URL:?}" "${METRICS_STATE:?}" "${METRICS_LOG:?}"
scrape() {
  /usr/bin/python3 "$ROOT/tests/integration/metrics_scrape.py" --sum "$1" ${2:+--label "$2"} \
    "$METRICS_URL"
}
messages=$(scrape moat_filterd_messages_total)
relayed=$(scrape moat_filterd_actions_total action=relayed)
sink=$("$BENCH/harness.sh" sink-count)
if [ ! -f "$METRICS_STATE" ]; then  # the first call, before the first run: a baseline
  echo "$messages $relayed 0" > "$METRICS_STATE"
  exit 0
fi
read -r prev_messages prev_relayed run < "$METRICS_STATE"
run=$((run + 1))
echo "$messages $relayed $run" > "$METRICS_STATE"
d_messages=$((messages - prev_messages))
d_relayed=$((relayed - prev_relayed))
verdict=agree
[ "$d_relayed" -eq "$sink" ] || verdict=DISAGREE
line="metrics after run $run: moat_filterd_messages_total +$d_messages (total $messages)," 
line+=" relayed +$d_relayed, sink $sink: $verdict"
echo "$line" | tee -a "$METRICS_LOG"
[ "$verdict" = agree ]
