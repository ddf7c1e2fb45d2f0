"""The sandbox's HTTP front: signature check, injected failures, routing to the authority."""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from config import correlation
from customs.sandbox.authority import Knobs, goes_to_inspection
from customs.sandbox.server import AUTHORITIES, Sandbox
from customs.sandbox.watch import message_type_of
from customs.signing import SignatureError, verify

logger = logging.getLogger("customs.sandbox")


def make_handler(sandbox: Sandbox):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        watched = None  # the request being handled, as the watch sees it (watch.py)

        def log_message(self, fmt, *args):  # quiet: the tests start many requests
            logger.debug(fmt, *args)

        def parse_request(self) -> bool:
            """Bind the sender's correlation id (X-Request-ID) for this request's log lines."""
            parsed = super().parse_request()
            if parsed:
                correlation.bind(correlation.valid(self.headers.get(correlation.HEADER)))
                logger.info("received %s %s", self.command, urlsplit(self.path).path)
            return parsed

        def _answer(self, status: int, body: dict) -> None:
            self._unwatch()
            raw = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):  # its sender went away
                self.close_connection = True

        def _watch(self, kind: str, authority: str) -> None:
            """Count the request and list it in flight until it is answered (watch.py)."""
            order_nos = [n for n in (self.headers.get("X-Ceb-Order-Nos") or "").split(",") if n]
            self.watched = sandbox.watch.begin(
                method=self.command, path=urlsplit(self.path).path, authority=authority,
                kind=kind, order_nos=order_nos,
            )  # fmt: skip
            sandbox.watch.hold(self.watched, sandbox.knobs, self.connection)

        def _unwatch(self) -> None:
            if self.watched is not None:
                sandbox.watch.end(self.watched, self.connection)
                self.watched = None

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _verified(self, method: str, body: bytes) -> bool:
            try:
                verify(
                    secret=sandbox.secret, method=method, path=self.path, body=body,
                    headers=self.headers, remember_nonce=sandbox.remember_nonce,
                )  # fmt: skip
            except SignatureError as exc:
                self._answer(401, {"reason": f"bad signature: {exc}"})
                return False
            return True

        def _injected_failure(self) -> bool:
            knobs = sandbox.knobs
            if knobs.response_delay_ms:
                time.sleep(knobs.response_delay_ms / 1000)
            mode = None
            with sandbox.lock:
                if knobs.outage:
                    mode = "503"
                elif knobs.fail_next > 0:
                    knobs.fail_next -= 1
                    mode = knobs.fail_mode
                elif knobs.error_rate and goes_to_inspection(knobs.error_rate):
                    mode = "500"
            if mode is None:
                return False
            sandbox.stats["failed_requests"] += 1
            if mode == "timeout":
                time.sleep(knobs.timeout_seconds)
            self._answer(503 if mode == "503" else 500, {"reason": f"injected {mode}"})
            return True

        def do_GET(self):
            parts = urlsplit(self.path)
            if not self._verified("GET", b""):
                return
            if parts.path == "/sandbox/state":
                return self._answer(
                    200,
                    {"knobs": vars(sandbox.knobs), "stats": sandbox.stats,
                     **sandbox.watch_state()},
                )  # fmt: skip
            authority = parts.path.strip("/").split("/")[0]
            if authority in AUTHORITIES and parts.path.endswith("/receipts"):
                self._watch("receipts", authority)
                if self._injected_failure():
                    return
                query = parse_qs(parts.query)
                after = int(query.get("after", ["0"])[0])
                limit = min(int(query.get("limit", ["500"])[0]), 1000)
                return self._answer(200, sandbox.receipts_after(authority, after, limit))
            self._answer(404, {"reason": "not found"})

        def do_POST(self):
            parts = urlsplit(self.path)
            body = self._body()
            if not self._verified("POST", body):
                return
            if parts.path == "/sandbox/control":
                try:
                    sandbox.knobs.update(json.loads(body or b"{}"))
                except (ValueError, TypeError) as exc:
                    return self._answer(400, {"reason": str(exc)})
                return self._answer(200, {"knobs": vars(sandbox.knobs)})
            authority = parts.path.strip("/").split("/")[0]
            if authority in AUTHORITIES and parts.path.endswith("/decisions"):
                self._watch("decisions", authority)
                if self._injected_failure():  # an outage reaches officers' decisions too
                    return
                return self._answer(*sandbox.decide(authority, body))
            if authority in AUTHORITIES and parts.path.endswith("/status"):
                self._watch("status", authority)
                if self._injected_failure():
                    return
                return self._answer(*sandbox.status_query(authority, body))
            if authority not in AUTHORITIES or not parts.path.endswith("/messages"):
                return self._answer(404, {"reason": "not found"})
            self._watch(message_type_of(body), authority)
            try:
                if self._injected_failure():
                    return
                status, answer = sandbox.receive(authority, body)
                self._answer(status, answer)
            finally:
                self._unwatch()  # an exception above: no longer in flight either

    return Handler


def serve(*, host: str, port: int, db_path: str, secret: str, knobs: Knobs) -> None:
    sandbox = Sandbox(db_path=db_path, secret=secret, knobs=knobs)
    server = ThreadingHTTPServer((host, port), make_handler(sandbox))
    server.daemon_threads = True
    print(f"customs sandbox listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
