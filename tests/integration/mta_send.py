"""Sends messages to moat-mta with Python's smtplib and prints one line per message that got 250:
"QUEUED <queue id> <marker>", flushed at once (so a test that kills the server mid-run knows
exactly which messages were acknowledged).

usage: mta_send.py PORT COUNT MARKER [RECIPIENT...]
Stops at the first error (connection lost, 4xx, 5xx) and prints "ERROR <text>".
"""
import re
import smtplib
import sys


def main():
    port = int(sys.argv[1])
    count = int(sys.argv[2])
    marker = sys.argv[3]
    recipients = sys.argv[4:] or ["user@example.test"]
    try:
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        client.ehlo("client.example.org")
        for n in range(count):
            tag = f"{marker}-{n}"
            message = (f"From: sender@example.org\r\nTo: {recipients[0]}\r\n"
                       f"Subject: {tag}\r\nMessage-ID: <{tag}@example.org>\r\n\r\n"
                       f"Body of {tag}\r\n")
            code, reply = client.mail("sender@example.org")
            if code != 250:
                raise RuntimeError(f"MAIL: {code} {reply!r}")
            for rcpt in recipients:
                code, reply = client.rcpt(rcpt)
                if code != 250:
                    raise RuntimeError(f"RCPT: {code} {reply!r}")
            code, reply = client.data(message.encode())
            if code != 250:
                raise RuntimeError(f"DATA: {code} {reply!r}")
            found = re.search(rb"queued as (\S+)", reply)
            print(f"QUEUED {found.group(1).decode() if found else '?'} {tag}", flush=True)
        client.quit()
    except Exception as e:  # the test kills the server on purpose
        print(f"ERROR {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
