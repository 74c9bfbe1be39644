#!/usr/bin/python3
"""Copied from ../shared/tools/dkim/dkimpy_offline.py.

Offline DKIM sign/verify with Debian's python3-dkim (dkimpy 1.1.x); no DNS.

  verify:  dkimpy_offline.py verify MSG KEYS.txt [--now UNIX]
           KEYS.txt lines: "<selector>._domainkey.<domain> <TXT record>"
           ('#' comments allowed; Mail::DKIM FAKE_DNS.dat format works too)
           Checks EVERY DKIM-Signature (dkim.DKIM.verify(idx=i)); prints one
           line per signature and exits 0 only if all pass.
  sign:    dkimpy_offline.py sign MSG SELECTOR DOMAIN KEYFILE [rsa-sha256|ed25519-sha256]
           [relaxed/relaxed] [header1:header2...]  > signed message on stdout
           KEYFILE: PEM RSA key, or for ed25519 the base64 32-byte seed.
"""
import sys, time, dkim

def load_keys(path):
    recs = {}
    for line in open(path, encoding='ascii', errors='replace'):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, _, txt = line.partition(' ')
        recs[name.rstrip('.').lower()] = txt.strip().encode()
    return recs

def main():
    mode = sys.argv[1]
    msg = open(sys.argv[2], 'rb').read()
    if mode == 'verify':
        recs = load_keys(sys.argv[3])
        now = None
        if '--now' in sys.argv:
            now = int(sys.argv[sys.argv.index('--now') + 1])
        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return recs.get(n.rstrip('.').lower())  # None -> no key
        if now is not None:
            time.time = lambda: now            # for x= expiry tests
        d = dkim.DKIM(msg, minkey=512)          # old corpora use 512/768-bit keys
        n = sum(1 for h, _ in d.headers if h.lower() == b'dkim-signature')
        ok_all = n > 0
        for i in range(n):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except Exception as e:   # dkim.ValidationError etc.
                ok = False
            print(f"sig[{i}] {'pass' if ok else 'fail'}")
            ok_all &= bool(ok)
        if n == 0:
            print('no DKIM-Signature')
        sys.exit(0 if ok_all else 1)
    elif mode == 'sign':
        sel, dom, keyf = sys.argv[3], sys.argv[4], sys.argv[5]
        alg = sys.argv[6] if len(sys.argv) > 6 else 'rsa-sha256'
        canon = sys.argv[7] if len(sys.argv) > 7 else 'relaxed/relaxed'
        hdrs = [h.encode() for h in sys.argv[8].split(':')] if len(sys.argv) > 8 else None
        key = open(keyf, 'rb').read().strip()
        hc, bc = canon.split('/')
        sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                        canonicalize=(hc.encode(), bc.encode()),
                        signature_algorithm=alg.encode(), include_headers=hdrs,
                        linesep=b'\r\n' if b'\r\n' in msg else b'\n')
        sys.stdout.buffer.write(sig + msg)
    else:
        sys.exit(__doc__)

if __name__ == '__main__':
    main()
