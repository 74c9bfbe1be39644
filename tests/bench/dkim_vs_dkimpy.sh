#!/bin/bash
# dkim_vs_dkimpy.sh [BUILD_DIR] - DKIM signatures and verifications per second: Moat
# (build/bench/dkim_bench) against dkimpy (python3-dkim, in-process loop) and opendkim-testmsg
# (one process per message; it only signs, and only rsa-sha1), on the same messages and keys, in
# the same run. Messages: a 3 KB and a 60 KB text message, relaxed/relaxed, rsa-2048 and ed25519.
# Verification uses a pre-fetched key (no DNS) everywhere.
#
#   ninja -C build dkim_bench && tests/bench/dkim_vs_dkimpy.sh build
set -euo pipefail
build=${1:-build}
seconds=${DKIM_BENCH_SECONDS:-2}
bench="$build/bench/dkim_bench"
[ -x "$bench" ] || { echo "build $bench first: ninja -C $build dkim_bench" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa8.pem" 2>/dev/null
openssl rsa -in "$tmp/rsa8.pem" -traditional -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem"
openssl pkey -in "$tmp/ed.pem" -outform DER | tail -c 32 | base64 -w0 > "$tmp/ed.seed"

/usr/bin/python3 - "$tmp" <<'PY'
import sys
out = sys.argv[1]
head = ("From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.net>\r\n"
        "Subject: Quarterly figures\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "Message-ID: <bench-1@example.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
line = "The quick brown fox jumps over the lazy dog;  figures   follow below.\r\n"
for name, size in (("3k", 3000), ("60k", 60000)):
    body = line * (size // len(line) + 1)
    open(f"{out}/{name}.eml", "w", newline="").write(head + body)
PY

dkimpy() {  # message algorithm -> "sign/s verify/s"
  /usr/bin/python3 - "$1" "$2" "$tmp" "$seconds" <<'PY'
import sys, time, base64, subprocess, dkim
msg_path, alg, tmp, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
msg = open(msg_path, "rb").read()
if alg == "rsa":
    key = open(f"{tmp}/rsa.pem", "rb").read()
    der = subprocess.run(["openssl", "rsa", "-in", f"{tmp}/rsa.pem", "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    algorithm = b"rsa-sha256"
else:
    key = open(f"{tmp}/ed.seed", "rb").read().strip()
    der = subprocess.run(["openssl", "pkey", "-in", f"{tmp}/ed.pem", "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:])
    algorithm = b"ed25519-sha256"
def sign():
    return dkim.sign(msg, b"sel", b"example.test", key, canonicalize=(b"relaxed", b"relaxed"),
                     signature_algorithm=algorithm, linesep=b"\r\n")
def rate(fn):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(); n += 1
    return n / (time.perf_counter() - start)
signed = sign() + msg
dns = lambda name, timeout=5: record
assert dkim.verify(signed, dnsfunc=dns)
print(f"{rate(sign):.0f} {rate(lambda: dkim.verify(signed, dnsfunc=dns)):.0f}")
PY
}

testmsg_rate() {  # message -> signatures/s including process start (rsa-sha1, relaxed/simple)
  /usr/bin/python3 - "$1" "$tmp/rsa.pem" "$seconds" <<'PY'
import subprocess, sys, time
msg, key, seconds = open(sys.argv[1], "rb").read(), sys.argv[2], float(sys.argv[3])
n, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    subprocess.run(["opendkim-testmsg", "-C", "-d", "example.test", "-s", "sel", "-k", key],
                   input=msg, stdout=subprocess.DEVNULL, check=True)
    n += 1
print("%.0f" % (n / (time.perf_counter() - start)))
PY
}

dkimpy_version=$(dpkg-query -W -f='${Version}' python3-dkim 2>/dev/null || echo '?')
printf '%-6s %-8s %-26s %12s %12s\n' message key implementation sign/s verify/s
for m in 3k 60k; do
  json=$(DKIM_BENCH_MESSAGE="$tmp/$m.eml" DKIM_BENCH_RSA_KEY="$tmp/rsa.pem" DKIM_BENCH_ED_KEY="$tmp/ed.pem" \
    "$bench" --benchmark_format=json --benchmark_min_time="$seconds" 2>/dev/null)
  for k in rsa2048 ed25519; do
    moat=$(/usr/bin/python3 -c '
import json, sys
rates = {b["name"]: b["items_per_second"] for b in json.loads(sys.argv[1])["benchmarks"]}
k = sys.argv[2]
print("%.0f %.0f" % (rates["Sign/" + k], rates["Verify/" + k]))' "$json" "$k")
    py=$(dkimpy "$tmp/$m.eml" "${k%2048}")
    printf '%-6s %-8s %-26s %12s %12s\n' "$m" "$k" "moat" $moat
    printf '%-6s %-8s %-26s %12s %12s\n' "$m" "$k" "dkimpy $dkimpy_version" $py
  done
  if command -v opendkim-testmsg >/dev/null || [ -x /usr/sbin/opendkim-testmsg ]; then
    PATH=$PATH:/usr/sbin
    printf '%-6s %-8s %-26s %12s %12s\n' "$m" "rsa2048" "opendkim-testmsg (sha1,*)" "$(testmsg_rate "$tmp/$m.eml")" "-"
  fi
done
echo "(*) one process per message, rsa-sha1: opendkim-testmsg cannot do otherwise; an upper bound on its per-message cost"
