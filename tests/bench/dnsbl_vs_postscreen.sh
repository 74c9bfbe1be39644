#!/bin/bash
# dnsbl_vs_postscreen.sh - connections per second through the DNSBL screen at the door:
# moat-mta's postscreen service against the real Postfix with postscreen, same machine, same
# DNS server, same run.
#
#   smtp-source -A -s SESSIONS -m COUNT (one connection per message, from 127.0.0.1)
#     -> listed port:   postscreen_dnsbl_sites = listed.bench.test*2 (lists 127.0.0.1): refused
#     -> unlisted port: postscreen_dnsbl_sites = clean.bench.test*2 (lists no one): accepted,
#                       queued (fsync) and relayed to smtp-sink
# for moat-mta (one process, two postscreen services) and for a private Postfix instance in a
# temporary directory (two postscreen services handing over to "smtpd pass", dnsblog, its own
# postscreen cache per service). smtp-source has no source-address option, so "listed" and
# "unlisted" are two DNSBL zones in the configuration rather than two client addresses.
#
# DNS: one dnsmasq on port 53 of a random 127.x.y.z address. moat-mta asks it through
# dns_servers; Postfix (which reads /etc/resolv.conf only) runs in a private mount namespace
# where /etc/resolv.conf is bind-mounted to name that address. Both sides: threshold 2,
# postscreen_dnsbl_action = $BENCH_ACTION (enforce: 550 to every RCPT; drop: 521 at connect),
# mynetworks away from loopback (so 127.0.0.1 is screened), no reverse DNS for clients (Postfix
# smtpd_peername_lookup = no; moat-mta does none), Postfix's other defaults (postscreen_greet_wait
# and friends) as shipped unless PS_EXTRA adds main.cf lines.
#
# Usage (from the project root, as root, after building moat-mta):
#   tests/bench/dnsbl_vs_postscreen.sh
# Environment: MOAT_BUILD (build dir, default build/), BENCH_COUNT (connections per run, 2000),
#   BENCH_SESSIONS (parallel sessions, 20), BENCH_REPS (3; the median is reported),
#   BENCH_ACTION (enforce|drop), PS_EXTRA (extra Postfix main.cf lines), KEEP=1 (keep the state
#   directory). Output: a table with connections/s and ratios; logs under the state directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MOAT_BUILD:-$ROOT/build}
MTA=$BUILD/bin/moat-mta
COUNT=${BENCH_COUNT:-2000}
SESSIONS=${BENCH_SESSIONS:-20}
REPS=${BENCH_REPS:-3}
ACTION=${BENCH_ACTION:-enforce}
[ -x "$MTA" ] || { echo "build moat-mta first (MOAT_BUILD=$BUILD)" >&2; exit 1; }
for tool in dnsmasq smtp-source smtp-sink postfix unshare; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (private Postfix instance, mount namespace)" >&2; exit 1; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # host port seconds
  local i
  for i in $(seq $(($3 * 10))); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
now() { date +%s.%N; }

STATE=$(mktemp -d /tmp/moat-dnsbl-bench.XXXX)
chmod 755 "$STATE"
PIDS=()
PF_ETC=$STATE/pf/etc
cleanup() {
  postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT

# --- DNS --------------------------------------------------------------------------------------
DNS_IP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
/usr/sbin/dnsmasq --no-daemon --listen-address="$DNS_IP" --port=53 --bind-interfaces \
  --no-resolv --no-hosts --conf-file=/dev/null --pid-file= --user=root --log-facility=- \
  --local=/bench.test/ --local=/in-addr.arpa/ --local-ttl=300 \
  --host-record=1.0.0.127.listed.bench.test,127.0.0.2 \
  --txt-record=1.0.0.127.listed.bench.test,"Listed by the benchmark" \
  > "$STATE/dnsmasq.log" 2>&1 &
PIDS+=($!)
wait_port "$DNS_IP" 53 10 || { cat "$STATE/dnsmasq.log"; exit 1; }
echo "nameserver $DNS_IP" > "$STATE/resolv.conf"

# --- sink -------------------------------------------------------------------------------------
SINK=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK" 256 > "$STATE/sink.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$SINK" 10

# --- moat-mta ---------------------------------------------------------------------------------
MOAT_LISTED=$(free_port)
MOAT_CLEAN=$(free_port)
mkdir -p "$STATE/moat"
cat > "$STATE/moat/main.cf" <<EOF
compatibility_level = 3.6
myhostname = mx.bench.test
mydomain = bench.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 192.0.2.0/24
relay_domains = example.test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_transport = relay:[127.0.0.1]:$SINK
queue_directory = $STATE/moat/queue
mail_owner = root
data_directory = $STATE/moat/data
dns_servers = $DNS_IP:53
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = $ACTION
log_target = stderr
EOF
cat > "$STATE/moat/master.cf" <<EOF
127.0.0.1:$MOAT_LISTED inet n - n - - postscreen
  -o postscreen_dnsbl_sites=listed.bench.test*2
127.0.0.1:$MOAT_CLEAN inet n - n - - postscreen
  -o postscreen_dnsbl_sites=clean.bench.test*2
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
EOF
"$MTA" -c "$STATE/moat" > "$STATE/moat.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$MOAT_CLEAN" 20 || { cat "$STATE/moat.log"; exit 1; }

# --- Postfix with postscreen ------------------------------------------------------------------
PF_LISTED=$(free_port)
PF_CLEAN=$(free_port)
mkdir -p "$PF_ETC" "$STATE/pf/spool" "$STATE/pf/data"
chown postfix:postfix "$STATE/pf/data"
cat > "$PF_ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $STATE/pf/spool
data_directory = $STATE/pf/data
maillog_file_prefixes = $STATE/pf
maillog_file = $STATE/pf/maillog
myhostname = mx.bench.test
mydomain = bench.test
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.0/24
relay_domains = example.test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_transport = relay:[127.0.0.1]:$SINK
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = $ACTION
biff = no
notify_classes =
${PS_EXTRA:-}
EOF
cat > "$PF_ETC/master.cf" <<EOF
127.0.0.1:$PF_LISTED inet n - n - 1 postscreen
  -o postscreen_dnsbl_sites=listed.bench.test*2
  -o postscreen_cache_map=btree:\$data_directory/postscreen_listed
127.0.0.1:$PF_CLEAN inet n - n - 1 postscreen
  -o postscreen_dnsbl_sites=clean.bench.test*2
  -o postscreen_cache_map=btree:\$data_directory/postscreen_clean
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# Postfix prints its errors only to a terminal: `script` gives it one.
script -qec "unshare --mount sh -c \"mount --bind '$STATE/resolv.conf' /etc/resolv.conf &&
  postfix -c '$PF_ETC' start\"" /dev/null > "$STATE/pf-start.log" 2>&1 ||
  { cat "$STATE/pf-start.log"; exit 1; }
wait_port 127.0.0.1 "$PF_CLEAN" 20 || { cat "$STATE/pf-start.log"; exit 1; }

# --- measurements -----------------------------------------------------------------------------
# rate NAME PORT: the median connections/s of REPS runs of COUNT connections.
rate() {
  local name=$1 port=$2 i t0 t1 rates=()
  # Warm-up: caches filled, processes forked, the first (new) client's tests done.
  smtp-source -A -s "$SESSIONS" -m 100 -f sender@example.org -t user@example.test -l 200 \
    "127.0.0.1:$port" > /dev/null 2>> "$STATE/source-$name.err" || true
  for i in $(seq "$REPS"); do
    t0=$(now)
    smtp-source -A -s "$SESSIONS" -m "$COUNT" -f sender@example.org -t user@example.test \
      -l 200 "127.0.0.1:$port" > /dev/null 2>> "$STATE/source-$name.err" || true
    t1=$(now)
    rates+=("$(awk "BEGIN { print $COUNT / ($t1 - $t0) }")")
  done
  printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}'
}

# Both sides must behave as described: listed refused, unlisted accepted.
probe() {  # port: smtp-source says nothing when the message was accepted
  local out
  out=$(smtp-source -A -s 1 -m 1 -f sender@example.org -t user@example.test "127.0.0.1:$1" 2>&1 ||
    true)
  echo "${out:-accepted}" | head -1 | sed 's/^smtp-source: warning: //'
}
echo "moat-mta listed:   $(probe "$MOAT_LISTED")"
echo "moat-mta unlisted: $(probe "$MOAT_CLEAN")"
echo "postfix listed:    $(probe "$PF_LISTED")"
echo "postfix unlisted:  $(probe "$PF_CLEAN")"

moat_refused=$(rate moat-listed "$MOAT_LISTED")
pf_refused=$(rate postfix-listed "$PF_LISTED")
moat_accepted=$(rate moat-clean "$MOAT_CLEAN")
pf_accepted=$(rate postfix-clean "$PF_CLEAN")

moat_rejects=$(grep -c "blocked using listed.bench.test" "$STATE/moat.log" || true)
pf_rejects=$(grep -c "blocked using listed.bench.test" "$STATE/pf/maillog" || true)
moat_queued=$(grep -c ": client=.*nrcpt=" "$STATE/moat.log" || true)
pf_queued=$(grep -c "postfix/smtpd.*client=" "$STATE/pf/maillog" || true)

echo
echo "DNSBL at the door: $COUNT connections x $REPS runs (median), $SESSIONS in parallel," \
     "postscreen_dnsbl_action = $ACTION, $(nproc) cores"
printf '%-34s %12s %18s %8s\n' "path" "moat-mta" "postfix+postscreen" "ratio"
printf '%-34s %12s %18s %8.2f\n' "refused (listed client) conn/s" "$moat_refused" "$pf_refused" \
  "$(awk "BEGIN { print $moat_refused / $pf_refused }")"
printf '%-34s %12s %18s %8.2f\n' "accepted (unlisted) conn/s" "$moat_accepted" "$pf_accepted" \
  "$(awk "BEGIN { print $moat_accepted / $pf_accepted }")"
echo "log check: listed refusals logged moat=$moat_rejects postfix=$pf_rejects;" \
     "messages accepted moat=$moat_queued postfix=$pf_queued"
