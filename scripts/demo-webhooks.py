"""The demo's webhook receiver: checks each delivery's Billcalc-Signature (t=…,v1=HMAC-SHA256 of
"{t}.{body}" with the endpoint secret, 5 minutes tolerance) and appends one JSON line per
delivery to LOG. The secret is read from SECRET_FILE at each request (the demo writes it once the
endpoint exists). Standard library only.

usage: python3 scripts/demo-webhooks.py PORT SECRET_FILE LOG
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, SECRET_FILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def valid(secret, header, body):
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - t) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            secret = open(SECRET_FILE).read().strip()
        except OSError:
            secret = ""
        ok = valid(secret, self.headers.get("billcalc-signature", ""), body)
        event = json.loads(body or b"{}")
        with open(LOG, "a") as f:
            f.write(json.dumps({"received_at": int(time.time()), "signature_ok": ok, "id": event.get("id"), "type": event.get("type")}) + "\n")
        self.send_response(200 if ok else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Hook).serve_forever()
