# local_dns.sh - sourced by the benchmark scripts: a dnsmasq on a free loopback port that
# answers NXDOMAIN for every name at once, standing in for the site's caching resolver.
# moat-filterd asks DNS for every inbound message (DMARC policy, DKIM keys) and this machine
# has no resolver of its own: the daemons under test get `dns_servers = $LOCAL_DNS`, and no
# query leaves the machine.
#   start_local_dns DIR   sets LOCAL_DNS=127.0.0.1:PORT; the pid file is DIR/dnsmasq.pid
#   stop_local_dns DIR
start_local_dns() {
  local port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dnsmasq --port="$port" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --conf-file=/dev/null --user=root --pid-file="$1/dnsmasq.pid" --address=/#/ \
    || { echo "dnsmasq did not start" >&2; return 1; }
  LOCAL_DNS=127.0.0.1:$port
}
stop_local_dns() {
  [ -f "$1/dnsmasq.pid" ] && kill "$(cat "$1/dnsmasq.pid")" 2>/dev/null || true
}
