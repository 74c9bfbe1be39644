#!/bin/bash
# rules_vs_spamassassin.sh - messages/s of Moat's rule engine and of `spamassassin -L` on the same
# messages, in the same run (the machine is shared and noisy: compare only figures of one run).
#
# Usage: tests/bench/rules_vs_spamassassin.sh [BUILD_DIR] [COPIES]
#   BUILD_DIR  the build holding bench/rules_bench (default: build)
#   COPIES     how many times spamassassin gets the corpus (default: 3)
#
# Both check the corpus rules_bench uses (testdata/corpus/**/*.eml and SpamAssassin's
# sample-*.txt) against the stock rules in /usr/share/spamassassin, network tests off, score set
# 0. spamassassin runs once over an mbox of COPIES x the corpus (rules compile once) and once over
# a single message; the difference is its steady-state cost. Wall and CPU time are both shown.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
copies=${2:-3}
bench="$build/bench/rules_bench"
[ -x "$bench" ] || { echo "build $bench first: ninja -C $build rules_bench" >&2; exit 2; }
command -v spamassassin >/dev/null || { echo "spamassassin is not installed" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site"
cp /etc/spamassassin/*.pre "$work/site/"
printf 'use_bayes 0\nbayes_auto_learn 0\nuse_auto_welcomelist 0\n' > "$work/site/bench.cf"
: > "$work/user_prefs"

mapfile -t files < <( { ls /usr/share/doc/spamassassin/examples/sample-*.txt 2>/dev/null;
                         find testdata/corpus -name '*.eml'; } | sort)
echo "corpus: ${#files[@]} messages; spamassassin gets it $copies times; stock rules /usr/share/spamassassin"

/usr/bin/python3 - "$work" "$copies" "${files[@]}" <<'PY'
import os, resource, subprocess, sys, time
work, copies, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def mbox(path, names, times):
    with open(path, "wb") as out:
        for _ in range(times):
            for f in names:
                data = open(f, "rb").read()
                if data.startswith(b"From "):
                    data = data.split(b"\n", 1)[1]
                lines = [b">" + l if l.startswith(b"From ") else l for l in data.split(b"\n")]
                out.write(b"From bench@localhost Thu Jan  1 00:00:00 2026\n" +
                          b"\n".join(lines).rstrip(b"\n") + b"\n\n")

def run(path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(path, "rb") as stdin:
        subprocess.run(["spamassassin", "-L", "--mbox", "--configpath=/usr/share/spamassassin",
                        f"--siteconfigpath={work}/site", "-p", f"{work}/user_prefs"],
                       stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, HOME=work), check=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

mbox(f"{work}/one.mbox", files[:1], 1)
mbox(f"{work}/corpus.mbox", files, copies)
w1, c1 = run(f"{work}/one.mbox")
wn, cn = run(f"{work}/corpus.mbox")
n = len(files) * copies
print(f"spamassassin -L: {n} messages in wall {wn:.1f} s / cpu {cn:.1f} s "
      f"(start-up with one message: wall {w1:.1f} s / cpu {c1:.1f} s)")
print(f"spamassassin steady state: {n / max(wn - w1, 1e-9):.1f} msg/s wall, "
      f"{n / max(cn - c1, 1e-9):.1f} msg/s cpu")
PY

# Google Benchmark: the first time column is wall time per message, the second CPU time.
"$bench" --benchmark_filter='BM_CheckMessage|BM_EvaluateOnly' --benchmark_min_time=2 2>/dev/null |
  awk '/^BM_/ { unit = ($3 == "us") ? 1e6 : (($3 == "ms") ? 1e3 : 1e9);
                printf "moat %-16s %8.0f msg/s wall, %8.0f msg/s cpu (%s %s wall, %s %s cpu per message)\n",
                       $1, unit / $2, unit / $4, $2, $3, $4, $5 }'
