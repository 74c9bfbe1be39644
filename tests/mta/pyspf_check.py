#!/usr/bin/python3
# pyspf_check.py - python3-spf (pyspf, a tool no one here wrote) as the reference for
# tests/mta/spf_interop_test.cc: evaluates SPF against the test's dnsmasq and prints one JSON
# object per case.
#
# Usage: pyspf_check.py PORT < cases    (each line: "client-ip<TAB>mail-from<TAB>helo")
# Output: one line per case: {"result": "...", "explanation": "..."}
import json
import sys

import dns.resolver
import spf

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = int(sys.argv[1])
resolver.timeout = 3
resolver.lifetime = 5
dns.resolver.default_resolver = resolver

for line in sys.stdin:
    line = line.rstrip("\n")
    if not line:
        continue
    ip, sender, helo = line.split("\t")
    result, explanation = spf.check2(i=ip, s=sender, h=helo, receiver="receiver.test")
    print(json.dumps({"result": result, "explanation": explanation}), flush=True)
