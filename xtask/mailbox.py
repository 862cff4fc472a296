"""The demo's mailbox: a real SMTP server (aiosmtpd) for the relay's e-mail notices and a stand-in
for the shop's SMS provider, which takes the relay's signed webhook. Both listen on 127.0.0.1 and
keep every notice they receive, decoded, as one JSON line for the demo's /mailbox/ page.

`cargo xtask demo` runs it with the Python of target/tools/smtp:

    python mailbox.py --out FILE --secret-file FILE

It prints the SMTP server's URL and the webhook's URL on two lines, then serves until it is
stopped. A webhook request whose signature does not check out, or is more than five minutes old,
is refused with 401, as a real provider should.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.smtp import SMTP

_lock = threading.Lock()


def keep(path, entry):
    """Appends one notice to the mailbox file."""
    with _lock, open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(entry, ensure_ascii=False) + "\n")


class Mailbox:
    """The SMTP handler: every message, decoded."""

    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        plain = message.get_body(preferencelist=("plain",))
        link = str(message.get("List-Unsubscribe", "")).strip().lstrip("<").rstrip(">")
        keep(
            self.path,
            {
                "kind": "email",
                "at": time.time(),
                "to": ", ".join(envelope.rcpt_tos),
                "from": str(message.get("From", "")),
                "subject": str(message.get("Subject", "")),
                "text": plain.get_content().replace("\r\n", "\n") if plain is not None else "",
                "link": link,
                "oneClick": str(message.get("List-Unsubscribe-Post", "")) == "List-Unsubscribe=One-Click",
            },
        )
        return "250 Message accepted for delivery"


def signed_by(secret, header, body):
    """Whether `header` is a fresh signature of `body` under `secret`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp = parts.get("t", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhook(path, secret):
    """The SMS provider's webhook handler class."""

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/sms":
                self.send_response(404)
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not signed_by(secret, self.headers.get("X-Iys-Relay-Signature", ""), body):
                self.send_response(401)
                self.end_headers()
                return
            sms = json.loads(body)
            keep(
                path,
                {
                    "kind": "sms",
                    "at": time.time(),
                    "to": sms["recipient"],
                    "text": sms["text"],
                    "link": sms["refusalUrl"],
                },
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *arguments):
            # The request line names no address, but the demo's log stays quiet.
            pass

    return Webhook


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--secret-file", required=True)
    arguments = parser.parse_args()
    with open(arguments.secret_file, encoding="utf-8") as file:
        secret = file.read().strip().encode()
    http = ThreadingHTTPServer(("127.0.0.1", 0), webhook(arguments.out, secret))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    handler = Mailbox(arguments.out)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(handler, hostname="mailbox.demo"), "127.0.0.1", 0
    )
    print(f"smtp://127.0.0.1:{smtp.sockets[0].getsockname()[1]}", flush=True)
    print(f"http://127.0.0.1:{http.server_address[1]}/sms", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
