"""A real SMTP server on loopback for the server's tests and the demo (aiosmtpd, from PyPI).

Every message it accepts is parsed with Python's email package and appended as one JSON line to
OUT: {from, to, subject (decoded), content_language, text, html, attachments: [{filename,
content_type, size, sha256, text}]}. While FAIL_FILE exists it answers DATA with a temporary failure
(451), so a sender's retries can be exercised. Prints "ready PORT" once listening.

usage: python3 smtp_catcher.py OUT [--port N] [--fail-file PATH] [--keep]
"""
import argparse
import email
import hashlib
import email.policy
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Catcher:
    def __init__(self, out, fail_file):
        self.out = out
        self.fail_file = fail_file
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.fail_file and os.path.exists(self.fail_file):
            return "451 4.3.0 try again later (test failure)"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = []
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True) or b""
            attachments.append({
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
                "text": payload.decode("utf-8", "replace") if part.get_content_maintype() == "text" else None,
            })
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"] or ""),
            "message_id": str(msg["message-id"] or ""),
            "multipart": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "attachments": attachments,
        }
        with self.lock:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fail-file")
    p.add_argument("--keep", action="store_true", help="do not stop when stdin closes (the demo)")
    a = p.parse_args()
    port = a.port
    if port == 0:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    controller = Controller(Catcher(a.out, a.fail_file), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Also stop when the parent closes our stdin (a test that dies leaves nothing running).
    if not a.keep:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
