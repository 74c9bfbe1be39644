#!/bin/bash
# mta_vs_postfix.sh - whole-appliance throughput of moat-mta (alone, and with moat-filterd in
# the path) against Postfix (alone, and with amavisd-new + ClamAV, or rspamd + ClamAV) on the
# same machine in the same sitting, through ../shared/bench.
#
#   moat-mta           smtp-source -> moat-mta (queue file + fsync before 250) -> smtp-sink
#   s1-postfix         smtp-source -> Postfix -> smtp-sink                        (anchor)
#   moat-chain         smtp-source -> moat-mta -> LMTP moat-filterd (ClamAV, rules, DKIM verify)
#                        -> moat-mta return listener -> smtp-sink
#   s2-amavis          smtp-source -> Postfix -> amavisd-new + clamd -> Postfix -> smtp-sink
#   s4-rspamd          smtp-source -> Postfix + rspamd milter + ClamAV -> smtp-sink
#
# A message counts when it is at the sink (or quarantined, for the EICAR set d) and the sending
# system's queue is empty again, so the figures are relay throughput with everything durable.
#
# Usage (from the project root, after `ninja -C build moat-mta moat-filterd`):
#   tests/bench/mta_vs_postfix.sh
# Environment: RUNS ("moat-mta s1-postfix moat-chain s2-amavis s4-rspamd"), BENCH_SETS ("a b c"),
#   BENCH_CONC ("1 10 50"), BENCH_REPS (3), BENCH_TARGET_S (15), MTA_ARGS / FILTERD_ARGS (extra
#   -o options), RULES ("$ROOT/rules/default"; add /usr/share/spamassassin for SpamAssassin's
#   stock rules), BENCH_DIR (/work/shared/bench). Results: build/bench-results/mta/*.jsonl and
#   summary.md. Free loopback ports are chosen for everything (the anchors' too).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=${BENCH_DIR:-/work/shared/bench}
MTA=$ROOT/build/bin/moat-mta
FILTERD=$ROOT/build/bin/moat-filterd
for bin in "$MTA" "$FILTERD"; do
  [ -x "$bin" ] || { echo "build it first: ninja -C build moat-mta moat-filterd" >&2; exit 1; }
done

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export BENCH_RESULTS=${BENCH_RESULTS:-$ROOT/build/bench-results/mta}
export BENCH_SETS=${BENCH_SETS:-"a b c"}
export BENCH_CONC=${BENCH_CONC:-"1 10 50"}
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_TARGET_S=${BENCH_TARGET_S:-15}
export BENCH_SINK=127.0.0.1:$(free_port)
export PF_IN=127.0.0.1:$(free_port)
export PF_RETURN=127.0.0.1:$(free_port)
export AMAVIS_LISTEN=127.0.0.1:$(free_port)
RUNS=${RUNS:-"moat-mta s1-postfix moat-chain s2-amavis s4-rspamd"}
RULES=${RULES:-$ROOT/rules/default}
MTA_SMTP=127.0.0.1:$(free_port)
MTA_SUBMISSION=127.0.0.1:$(free_port)
MTA_RETURN=127.0.0.1:$(free_port)
FILTERD_IN=127.0.0.1:$(free_port)
FILTERD_OUT=127.0.0.1:$(free_port)
mkdir -p "$BENCH_RESULTS"
STATE=$(mktemp -d /tmp/moat-mta-bench.XXXX)
chmod 755 "$STATE"
# shellcheck source=tests/bench/local_dns.sh
. "$ROOT/tests/bench/local_dns.sh"
start_local_dns "$STATE"

"$BENCH/install.sh" > "$BENCH_RESULTS/install.log" 2>&1 || { tail -20 "$BENCH_RESULTS/install.log"; exit 1; }
CLAMAV_DB=/var/lib/clamav
ls "$CLAMAV_DB"/*.c[lv]d >/dev/null 2>&1 || CLAMAV_DB=/tmp/anchors-clamav/db

cleanup() {
  "$BENCH/harness.sh" stop mta >/dev/null 2>&1 || true
  "$BENCH/harness.sh" stop filterd >/dev/null 2>&1 || true
  "$BENCH/harness.sh" sink-stop >/dev/null 2>&1 || true
  stop_local_dns "$STATE"
  rm -rf "$STATE"
}
trap cleanup EXIT

wait_listening() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0; sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

# moat-mta from conf/ as a relay for the benchmark's domain to the sink, like the anchor's
# Postfix (relayhost = the sink, 20 parallel deliveries).
start_mta() {  # $1: content filter next hop, or empty
  rm -rf "$STATE/queue" "$STATE/data" "$STATE/conf"
  # conf/ as it is, with its listener and filter variables pointed at the chosen ports.
  cp -r "$ROOT/conf" "$STATE/conf"
  sed -i -e "s|^smtp_listen = .*|smtp_listen = $MTA_SMTP|" \
    -e "s|^submission_listen = .*|submission_listen = $MTA_SUBMISSION|" \
    -e "s|^return_listen = .*|return_listen = $MTA_RETURN|" \
    -e "s|^inbound_filter_nexthop = .*|inbound_filter_nexthop = [${FILTERD_IN%:*}]:${FILTERD_IN##*:}|" \
    -e "s|^originating_filter_nexthop = .*|originating_filter_nexthop = [${FILTERD_OUT%:*}]:${FILTERD_OUT##*:}|" \
    "$STATE/conf/main.cf"
  # shellcheck disable=SC2086
  "$BENCH/harness.sh" spawn mta "$MTA" -c "$STATE/conf" \
    -o content_filter="$1" -o relayhost="[${BENCH_SINK%:*}]:${BENCH_SINK##*:}" \
    -o relay_domains= -o relay_recipient_maps= -o transport_maps= -o relay_transport=relay \
    -o default_destination_concurrency_limit=20 -o smtpd_helo_required=no \
    -o queue_directory="$STATE/queue" -o data_directory="$STATE/data" \
    -o dns_servers="$LOCAL_DNS" -o metrics_listen= ${MTA_ARGS:-}
  wait_listening "$MTA_SMTP"
}
stop_mta() {
  "$BENCH/harness.sh" stop mta
  cp /tmp/anchors-mta.out "$BENCH_RESULTS/$1-mta.log" 2>/dev/null || true
}
INFLIGHT="find $STATE/queue/incoming $STATE/queue/active $STATE/queue/deferred -type f 2>/dev/null | wc -l"

for run in $RUNS; do
  case "$run" in
    moat-mta)
      "$BENCH/harness.sh" sink-start
      start_mta ""
      bash "$BENCH/bench-matrix.sh" --scenario moat-mta --target "$MTA_SMTP" \
        --inflight-cmd "$INFLIGHT" --between-cmd "sync; sleep 1" --cgroups source,sink,mta
      stop_mta moat-mta
      "$BENCH/harness.sh" sink-stop ;;
    moat-chain)
      "$BENCH/harness.sh" sink-start
      # shellcheck disable=SC2086
      "$BENCH/harness.sh" spawn filterd "$FILTERD" -c "$ROOT/conf" \
        -o inbound_lmtp_listen="$FILTERD_IN" -o originating_lmtp_listen="$FILTERD_OUT" \
        -o forward_to="$MTA_RETURN" -o data_directory="$STATE/filterd" \
        -o quarantine_directory="$STATE/filterd/quarantine" \
        -o clamav_database_directory="$CLAMAV_DB" -o rules_directories="$RULES" \
        -o dns_servers="$LOCAL_DNS" -o metrics_listen= ${FILTERD_ARGS:-}
      wait_listening "$FILTERD_IN"
      start_mta "moatfilter:[${FILTERD_IN%:*}]:${FILTERD_IN##*:}"
      bash "$BENCH/bench-matrix.sh" --scenario moat-chain --target "$MTA_SMTP" \
        --inflight-cmd "$INFLIGHT" --disposed-dir "$STATE/filterd/quarantine/messages" \
        --between-cmd "sync; sleep 1" --cgroups source,sink,mta,filterd
      stop_mta moat-chain
      "$BENCH/harness.sh" stop filterd
      cp /tmp/anchors-filterd.out "$BENCH_RESULTS/moat-chain-filterd.log" 2>/dev/null || true
      "$BENCH/harness.sh" sink-stop ;;
    s1-postfix|s2-amavis|s4-rspamd|s2-amavis-sa)
      "$BENCH/run-scenario.sh" "$run" ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
done

python3 "$BENCH/summarize.py" "$BENCH_RESULTS"/*.jsonl > "$BENCH_RESULTS/summary.md"
cat "$BENCH_RESULTS/summary.md"
