#!/usr/bin/python3
"""dkim_sign_verify.py - sign or verify a message with dkimpy (python3-dkim), the public key read
from a file instead of DNS. Used by release_test.cc to prove a released message still verifies.

  dkim_sign_verify.py sign KEY.pem SELECTOR DOMAIN HEADER/BODY < message > signed
  dkim_sign_verify.py verify PUBLIC.pem < message          prints "pass" or "fail"
"""
import sys

import dkim


def public_key_record(path):
    lines = open(path, "rb").read().split(b"\n")
    body = b"".join(line.strip() for line in lines if line and not line.startswith(b"-----"))
    return b"v=DKIM1; k=rsa; p=" + body


def main():
    mode = sys.argv[1]
    message = sys.stdin.buffer.read()
    if mode == "sign":
        key = open(sys.argv[2], "rb").read()
        header, body = sys.argv[5].encode().split(b"/")
        signature = dkim.sign(message, sys.argv[3].encode(), sys.argv[4].encode(), key,
                              canonicalize=(header, body),
                              include_headers=[b"from", b"to", b"subject", b"date",
                                               b"message-id"])
        sys.stdout.buffer.write(signature + message)
    elif mode == "verify":
        record = public_key_record(sys.argv[2])
        ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
        print("pass" if ok else "fail")
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
