"""The E-Port stand-in's HTTP side: customs' end of the real-time data request.

POST /ceb2grab/grab/realTimeDataUpload   form payExInfoStr (customs/realtime.py): verified
     under the platform's key, kept -> {"code": "10000"|"20001"|..., "message", ...}
POST /standin/query  {"orderNo"}: customs asks the platform (signed openReq to the
     platform's query URL) -> {"sessionID", "openReq", "status", "answer"}
GET  /standin/realtime?sessionID=...  what was uploaded for a session and whether it held
POST /customs/messages  another party's own line to the authority behind the exchange, in the
     sandbox's contract (HMAC-signed XML, CUSTOMS_GATEWAY_SECRET): the payment company files
     its CEB411 here (marketplace/standins/customs_filing.py), not through the platform's
     folders, so the three-document check of the platform's inventory list sees it
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from customs import realtime
from customs.signing import SignatureError, verify

logger = logging.getLogger("customs.eport_standin")
SCHEMA = """CREATE TABLE IF NOT EXISTS realtime (session_id TEXT PRIMARY KEY, order_no TEXT,
    asked REAL, uploaded TEXT, verified INTEGER, code TEXT)"""


def serve(standin, *, host: str, port: int, platform_url: str, out, party_secret: str = "") -> None:
    db = sqlite3.connect(standin.db.execute("PRAGMA database_list").fetchone()[2],
                         check_same_thread=False, isolation_level=None)  # fmt: skip
    db.execute(SCHEMA)
    lock = threading.Lock()

    def upload(form: dict) -> dict:
        now = int(time.time() * 1000)
        try:
            data = json.loads(form["payExInfoStr"][0])
            session_id = str(data["sessionID"])
            message = realtime.upload_sign_string(data)
        except (KeyError, ValueError, TypeError) as exc:
            return {"code": realtime.BAD_REQUEST, "message": f"malformed: {exc}",
                    "serviceTime": now}  # fmt: skip
        key = standin.platform_keys.get(str(data.get("certNo", "")))
        holds = bool(key) and realtime.signature_holds(key, message, data.get("signValue", ""))
        with lock:
            asked = db.execute("SELECT 1 FROM realtime WHERE session_id=?", (session_id,))
            known = asked.fetchone() is not None
        code = realtime.OK if holds and known else realtime.BAD_SIGNATURE if not holds else "20003"
        with lock:
            db.execute(
                "INSERT INTO realtime (session_id, uploaded, verified, code) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET uploaded=excluded.uploaded, "
                "verified=excluded.verified, code=excluded.code",
                (session_id, json.dumps(data, ensure_ascii=False), int(holds), code),
            )
        message = {"10000": "", "20001": "signature does not verify",
                   "20003": "no such session"}.get(code, "")  # fmt: skip
        return {"code": code, "message": message, "total": 1, "serviceTime": now}

    def query(body: dict) -> dict:
        order_no = str(body.get("orderNo", ""))
        session_id = f"{uuid.uuid4()}"
        asked = {"orderNo": order_no, "sessionID": session_id,
                 "serviceTime": str(int(time.time() * 1000))}  # fmt: skip
        open_req = realtime.sign_query(asked, standin.signer)
        with lock:
            db.execute("INSERT INTO realtime (session_id, order_no, asked) VALUES (?, ?, ?)",
                       (session_id, order_no, time.time()))  # fmt: skip
        url = body.get("platformUrl") or platform_url
        try:
            response = requests.post(url, data={"openReq": realtime.compact(open_req)}, timeout=10)
            status, answer = response.status_code, response.text[:2000]
        except requests.RequestException as exc:
            status, answer = 0, str(exc)
        return {"sessionID": session_id, "openReq": open_req, "status": status, "answer": answer}

    def state(session_id: str) -> dict:
        with lock:
            row = db.execute(
                "SELECT order_no, uploaded, verified, code FROM realtime WHERE session_id=?",
                (session_id,),
            ).fetchone()
        if row is None:
            return {}
        return {"orderNo": row[0], "uploaded": json.loads(row[1]) if row[1] else None,
                "verified": bool(row[2]), "code": row[3]}  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            logger.debug(fmt, *args)

        def _answer(self, status: int, body: dict) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            if path == "/customs/messages":
                try:
                    verify(secret=party_secret, method="POST", path=self.path, body=raw,
                           headers=self.headers, remember_nonce=standin.remember_nonce)  # fmt: skip
                except SignatureError as exc:
                    return self._answer(401, {"reason": f"bad signature: {exc}"})
                return self._answer(*standin.receive("customs", raw))
            if path == "/ceb2grab/grab/realTimeDataUpload":
                return self._answer(200, upload(parse_qs(raw.decode())))
            if path == "/standin/query":
                return self._answer(200, query(json.loads(raw or b"{}")))
            self._answer(404, {"reason": "no such path"})

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path == "/standin/realtime":
                session_id = parse_qs(parts.query).get("sessionID", [""])[0]
                return self._answer(200, state(session_id))
            if parts.path == "/standin/state":
                return self._answer(200, {"stats": standin.stats})
            self._answer(404, {"reason": "no such path"})

    server = ThreadingHTTPServer((host, port), Handler)
    bound_host, bound_port = server.server_address[:2]
    out.write(f"E-Port stand-in listening on http://{bound_host}:{bound_port}\n")
    out.flush()
    server.serve_forever()
