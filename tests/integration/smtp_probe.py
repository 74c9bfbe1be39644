"""One SMTP conversation with Python's smtplib, for relay-control tests: prints what the server
answered, one line per step, and never sends a message (RSET after the recipients).

usage: smtp_probe.py PORT SOURCE_ADDRESS [--starttls] [--auth USER:PASSWORD] FROM RCPT...
Output lines: "CONNECT <code>", "AUTH-OFFERED yes|no", "AUTH <code>", "RCPT <address> <code>".
A refused connection or greeting prints "CONNECT <code>" with the server's code (or 0) and stops.
"""
import smtplib
import sys


def main():
    args = sys.argv[1:]
    port, source = int(args[0]), args[1]
    args = args[2:]
    starttls = False
    auth = None
    while args and args[0].startswith("--"):
        if args[0] == "--starttls":
            starttls = True
            args = args[1:]
        elif args[0] == "--auth":
            auth = args[1].split(":", 1)
            args = args[2:]
    sender, recipients = args[0], args[1:]
    try:
        client = smtplib.SMTP(timeout=30, source_address=(source, 0))
        code, _ = client.connect("127.0.0.1", port)
        client._host = "127.0.0.1"  # connect() does not set it; STARTTLS needs a name
    except smtplib.SMTPConnectError as e:
        print(f"CONNECT {e.smtp_code}", flush=True)
        return
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        print("CONNECT 0", flush=True)
        return
    print(f"CONNECT {code}", flush=True)
    if code != 220:
        return
    client.ehlo("client.example.org")
    if starttls:
        client.starttls()
        client.ehlo("client.example.org")
    print(f"AUTH-OFFERED {'yes' if client.has_extn('auth') else 'no'}", flush=True)
    if auth:
        try:
            code, _ = client.login(auth[0], auth[1])
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        except smtplib.SMTPNotSupportedError:
            code = 0
        print(f"AUTH {code}", flush=True)
    code, reply = client.mail(sender)
    if code != 250:
        print(f"MAIL {code}", flush=True)
        return
    for rcpt in recipients:
        code, reply = client.rcpt(rcpt)
        print(f"RCPT {rcpt} {code} {reply.decode(errors='replace')}", flush=True)
    client.rset()
    client.quit()


if __name__ == "__main__":
    main()
