"""The sandbox authority: customs and CIQ in one process, own port, own SQLite storage.

HTTP contract (same as the real gateway adapter expects), under /customs and /ciq:
  POST <base>/messages   signed XML message (a batch) -> {"guid", "duplicate", "records": [...]}
  GET  <base>/receipts?after=N&limit=M   signed -> {"receipts": [...], "next": N}
  POST <base>/decisions  signed JSON {"guid", "decision": "release"|"reject", "note"}: an
                         officer's decision on a record held for inspection (500)
  POST <base>/status     signed JSON {"records": [{"guid", "messageType", "orderNo"}]} -> the
                         current receipt row per record it knows (by guid, else by business
                         key), in the shape of fetched receipts: {"receipts": [...], "unknown":
                         [guid, ...]}
  POST /sandbox/control  signed JSON knobs (latency, inspection rate, outage, 5xx ...)
  GET  /sandbox/state    signed -> knobs and counters
Receipts are also pushed, signed, to the callback URL as {"receipts": [row]}.
The receipt steps still to come are rows of its SQLite file (table steps), so a restarted
sandbox resumes them where it stopped.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from customs import messages
from customs.errors import InvalidMessage
from customs.sandbox.authority import (
    Knobs,
    first_checks,
    goes_to_inspection,
    load_positive_list,
    three_order_reasons,
)
from customs.sandbox.watch import Watch
from customs.signing import signed_headers

logger = logging.getLogger("customs.sandbox")
AUTHORITIES = ("customs", "ciq")
PUSH_BATCH = 100  # receipts at most in one push
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (authority TEXT, guid TEXT, response TEXT,
    PRIMARY KEY (authority, guid));
CREATE TABLE IF NOT EXISTS records (authority TEXT, guid TEXT, type TEXT, order_no TEXT,
    business_key TEXT, data TEXT, status INTEGER, invt_no TEXT, info TEXT,
    PRIMARY KEY (authority, guid), UNIQUE (authority, type, business_key));
CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY AUTOINCREMENT, authority TEXT,
    body TEXT);
CREATE TABLE IF NOT EXISTS steps (id INTEGER PRIMARY KEY AUTOINCREMENT, due REAL, name TEXT,
    args TEXT);
CREATE INDEX IF NOT EXISTS steps_due ON steps (due, id);
CREATE TABLE IF NOT EXISTS muted (authority TEXT, guid TEXT, PRIMARY KEY (authority, guid));
"""
RECEIPT_TYPES = {"CEB311": "CEB312", "CEB411": "CEB412", "CEB511": "CEB512", "CEB513": "CEB514",
                 "CEB621": "CEB622", "CEB623": "CEB624", "CEB625": "CEB626"}  # fmt: skip
# The receipt steps a record may still have ahead of it (Sandbox.later), by name: durable rows,
# so only these methods, with JSON arguments, can be scheduled.
STEPS = ("_first_step", "_review", "_conclude", "_advance")
DOCUMENTS_RECHECK_SECONDS = 0.5  # an inventory list waiting for its documents (Knobs)


class Sandbox:
    def __init__(self, *, db_path: str, secret: str, knobs: Knobs | None = None) -> None:
        self.secret = secret
        self.knobs = knobs or Knobs()
        self.positive = load_positive_list()
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: every commit survives the process being killed (not a power cut).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()
        self.nonces: dict[str, float] = {}
        self.counter = itertools.count(self._counter_start())
        self.wake = threading.Condition()
        self.push_session = requests.Session()
        self.outbox: queue.Queue = queue.Queue()
        self.stats = {"messages": 0, "records": 0, "receipts": 0, "failed_requests": 0}
        self.watch = Watch(self.db, self.lock)
        threading.Thread(target=self._run_scheduler, daemon=True, name="scheduler").start()
        threading.Thread(target=self._run_pusher, daemon=True, name="pusher").start()

    # --- storage -------------------------------------------------------------------------
    def _one(self, sql: str, *args):
        with self.lock:
            return self.db.execute(sql, args).fetchone()

    def _exec(self, sql: str, *args) -> None:
        with self.lock:
            self.db.execute(sql, args)

    def record(self, authority: str, type_: str, business_key: str) -> dict | None:
        row = self._one(
            "SELECT data, status, invt_no, guid FROM records WHERE authority=? AND type=? AND "
            "business_key=?",
            authority, type_, business_key,
        )  # fmt: skip
        if not row:
            return None
        return {**json.loads(row[0]), "status": row[1], "invt_no": row[2], "guid": row[3]}

    def remember_nonce(self, nonce: str) -> bool:
        now = time.time()
        with self.lock:
            if nonce in self.nonces:
                return False
            self.nonces = {n: t for n, t in self.nonces.items() if now - t < 600}
            self.nonces[nonce] = now
            return True

    def second_records(self) -> list[dict]:
        """Orders the authority holds more than one record of a type for, where one is all a
        single sale files (another guid and business key slipped past the duplicate check,
        e.g. a second payment with another transaction id)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT authority, type, order_no, COUNT(*) FROM records WHERE type IN "
                "('CEB311', 'CEB411', 'CEB511', 'CEB621', 'CEB623') "
                "GROUP BY authority, type, order_no HAVING COUNT(*) > 1"
            ).fetchall()
        return [{"authority": a, "type": t, "order_no": o, "records": n} for a, t, o, n in rows]

    def watch_state(self) -> dict:
        """In-flight requests and what a second send produced (watch.py), for /sandbox/state."""
        return {**self.watch.state(), "second_records": self.second_records(),
                "pending_steps": self.pending_steps()}  # fmt: skip

    # --- receipts --------------------------------------------------------------------------
    def emit(self, authority: str, decl_guid: str, status: int, info: str = "") -> None:
        """Record a status change (never backwards here either) and push it, signed."""
        row = self._one(
            "SELECT type, order_no, invt_no, status FROM records WHERE authority=? AND guid=?",
            authority, decl_guid,
        )  # fmt: skip
        if not row:
            return
        type_, order_no, invt_no, _current = row
        self._exec(
            "UPDATE records SET status=?, info=? WHERE authority=? AND guid=?",
            status, info, authority, decl_guid,
        )  # fmt: skip
        if self._muted(authority, decl_guid):
            return  # it went quiet after accepting: the change is kept, no receipt is sent
        body = {
            "guid": str(uuid.uuid4()),
            "authority": authority,
            "declGuid": decl_guid,
            "messageType": RECEIPT_TYPES[type_],
            "orderNo": order_no,
            "returnStatus": status,
            "returnInfo": info,
            "returnTime": datetime.now(UTC).isoformat(),
            "invtNo": invt_no or "",
        }  # fmt: skip
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO receipts (authority, body) VALUES (?, ?)",
                (authority, json.dumps(body)),
            )
            body["id"] = cursor.lastrowid
            self.stats["receipts"] += 1
        self.deliver(body)

    def deliver(self, body: dict) -> None:
        """Hand a receipt on: pushed over HTTP here (the E-Port stand-in writes a file)."""
        if self.knobs.push_receipts and self.knobs.callback_url:
            self.outbox.put(body)

    def _run_pusher(self) -> None:
        """Pushes in emission order, off the request threads; whatever queued up meanwhile
        goes in the same request (the contract carries a list), as a real gateway batches."""
        while True:
            batch = [self.outbox.get()]
            while len(batch) < PUSH_BATCH:
                try:
                    batch.append(self.outbox.get_nowait())
                except queue.Empty:
                    break
            self.push(*batch)

    def push(self, *bodies: dict) -> None:
        raw = json.dumps({"receipts": list(bodies)}).encode()
        url = self.knobs.callback_url
        parts = urlsplit(url)
        headers = signed_headers(
            secret=self.secret, method="POST", path=parts.path, body=raw, sender="SANDBOX"
        )
        try:
            self.push_session.post(
                url, data=raw, headers={**headers, "Content-Type": "application/json"}, timeout=5
            )
        except requests.RequestException as exc:  # the platform polls as a fallback
            logger.info("push to %s failed: %s", url, exc)

    def receipts_after(self, authority: str, after: int, limit: int) -> dict:
        with self.lock:
            rows = self.db.execute(
                "SELECT id, body FROM receipts WHERE authority=? AND id>? ORDER BY id LIMIT ?",
                (authority, after, limit),
            ).fetchall()
        receipts = [{**json.loads(body), "id": id_} for id_, body in rows]
        return {"receipts": receipts, "next": rows[-1][0] if rows else after}

    # --- scheduler: receipt steps after the configured latency, kept in the database ----------
    def _counter_start(self) -> int:
        """List numbers go on from the highest stored (a restart must not reissue one)."""
        row = self._one("SELECT MAX(CAST(substr(invt_no, 10) AS INTEGER)) FROM records")
        return (row[0] or 0) + 1

    def later(self, steps: int, fn, *args, seconds: float | None = None) -> None:
        """Schedule a receipt step: a row of the steps table, due by the wall clock, so a
        restarted sandbox runs what it had promised. `seconds` instead of receipt steps: a
        recheck at a fixed interval."""
        if fn.__name__ not in STEPS:
            raise ValueError(f"{fn.__name__} is not a schedulable step")
        delay = steps * self.knobs.latency_ms / 1000 if seconds is None else seconds
        due = time.time() + delay
        self._exec(
            "INSERT INTO steps (due, name, args) VALUES (?, ?, ?)",
            due, fn.__name__, json.dumps(args),
        )  # fmt: skip
        with self.wake:
            self.wake.notify()

    def pending_steps(self) -> int:
        return self._one("SELECT COUNT(*) FROM steps")[0]

    def _next_step(self) -> tuple | None:
        return self._one("SELECT id, due, name, args FROM steps ORDER BY due, id LIMIT 1")

    def _run_scheduler(self) -> None:
        """Runs each step, then deletes its row: a step cut short by a crash runs again after
        the restart, and every step checks the record's status first, so once is once."""
        while True:
            with self.wake:
                step = self._next_step()
                while step is None or step[1] > time.time():
                    self.wake.wait(None if step is None else step[1] - time.time())
                    step = self._next_step()
            id_, _due, name, args = step
            try:
                getattr(self, name)(*json.loads(args))
            except Exception:
                logger.exception("sandbox step %s failed", name)
            self._exec("DELETE FROM steps WHERE id=?", id_)

    def _advance(self, authority: str, guid: str, status: int, info: str) -> None:
        """A later step that only emits a status, once."""
        if self._status(authority, guid) != status:
            self.emit(authority, guid, status, info)

    # --- going quiet after acceptance (knobs), and the status query ----------------------------
    def _muted(self, authority: str, guid: str) -> bool:
        return bool(self._one("SELECT 1 FROM muted WHERE authority=? AND guid=?", authority, guid))

    def _quiet(self, knob: str, message_type: str) -> bool:
        """Take one from a countdown knob if it applies to this message type."""
        types = self.knobs.quiet_types
        with self.lock:
            if getattr(self.knobs, knob) <= 0 or (types and message_type not in types):
                return False
            setattr(self.knobs, knob, getattr(self.knobs, knob) - 1)
            self.stats[knob] = self.stats.get(knob, 0) + 1
            return True

    def status_query(self, authority: str, body: bytes) -> tuple[int, dict]:
        """The current receipt row of each record asked about, found by our guid or else by
        its business key (the authority may hold it under another transmission's guid); the
        row names the guid asked about, so the platform applies it to its declaration."""
        if not self.knobs.status_query:
            return 404, {"reason": "this authority offers no status query"}
        try:
            asked = [
                (str(r["guid"]), str(r.get("messageType", "")), str(r.get("orderNo", "")))
                for r in json.loads(body or b"{}")["records"]
            ]
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"reason": f"malformed status query: {exc}"}
        receipts, unknown = [], []
        for guid, message_type, order_no in asked[:500]:
            row = self._one(
                "SELECT guid, type, order_no, status, info, invt_no FROM records "
                "WHERE authority=? AND guid=?", authority, guid,
            )  # fmt: skip
            if row is None and message_type in ("CEB311", "CEB511", "CEB621", "CEB623"):
                row = self._one(
                    "SELECT guid, type, order_no, status, info, invt_no FROM records "
                    "WHERE authority=? AND type=? AND business_key=?",
                    authority, message_type, order_no,
                )  # fmt: skip
            if row is None:
                unknown.append(guid)
                continue
            held_as, type_, order_no, status, info, invt_no = row
            receipts.append({
                "guid": f"status-{authority}-{held_as}-{status}",
                "authority": authority,
                "declGuid": guid,
                "heldAs": held_as,
                "messageType": RECEIPT_TYPES[type_],
                "orderNo": order_no,
                "returnStatus": status,
                "returnInfo": info or "",
                "returnTime": datetime.now(UTC).isoformat(),
                "invtNo": invt_no or "",
            })  # fmt: skip
        self.stats["status_queries"] = self.stats.get("status_queries", 0) + 1
        return 200, {"receipts": receipts, "unknown": unknown}

    # --- officers ----------------------------------------------------------------------------
    def decide(self, authority: str, body: bytes) -> tuple[int, dict]:
        """An officer's decision on a record held for inspection: 800 released or 100
        rejected, pushed like any receipt. The same decision again answers as before."""
        try:
            data = json.loads(body or b"{}")
            guid, decision = str(data["guid"]), str(data["decision"])
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"reason": f"malformed decision: {exc}"}
        if decision not in ("release", "reject"):
            return 400, {"reason": "decision must be release or reject"}
        wanted = 800 if decision == "release" else 100
        status = self._status(authority, guid)
        if status == 0:
            return 404, {"reason": f"no {authority} record {guid}"}
        if status == wanted:
            return 200, {"status": status, "duplicate": True}
        if status != 500:
            return 409, {"reason": f"record {guid} is not held for inspection (status {status})"}
        note = str(data.get("note") or decision)[:200]
        self.emit(authority, guid, wanted, f"inspection: {note}")
        return 200, {"status": wanted, "duplicate": False}

    # --- messages ----------------------------------------------------------------------------
    def receive(self, authority: str, xml: bytes) -> tuple[int, dict]:
        try:
            message_type, guid, _sender, records = messages.parse(xml)
        except InvalidMessage as exc:
            return 400, {"reason": exc.message}
        stored = self._one(
            "SELECT response FROM messages WHERE authority=? AND guid=?", authority, guid
        )
        if stored:
            self.watch.resend(f"{message_type} message")
            return 200, {**json.loads(stored[0]), "duplicate": True}
        results = [self._receive_record(authority, message_type, r) for r in records]
        response = {"guid": guid, "duplicate": False, "records": results}
        self._exec(
            "INSERT OR IGNORE INTO messages VALUES (?, ?, ?)", authority, guid, json.dumps(response)
        )
        self.stats["messages"] += 1
        return 200, response

    def _business_key(self, message_type: str, head: dict) -> str:
        if message_type == "CEB411":
            return f"{head['orderNo']}|{head['payTransactionId']}"
        if message_type == "CEB625":
            return f"{head['orderNo']}|{head['copNo']}|{head['reason']}"
        if message_type == "CEB513":
            return f"{head['logisticsNo']}|{head['logisticsStatus']}"
        return head["orderNo"]

    def _waybill_order(self, logistics_no: str) -> str:
        """CEB513 names only the waybill: its order is the one the CEB511 was filed for."""
        row = self._one(
            "SELECT order_no FROM records WHERE authority='customs' AND type='CEB511' AND "
            "json_extract(data, '$.head.logisticsNo')=? ORDER BY rowid DESC", logistics_no,
        )  # fmt: skip
        return row[0] if row else ""

    def _receive_record(self, authority: str, message_type: str, record: dict) -> dict:
        head = record["head"]
        guid = head["guid"]
        order_no = head.get("orderNo") or self._waybill_order(head.get("logisticsNo", ""))
        key = self._business_key(message_type, head)
        existing = self._one(
            "SELECT guid, status, info FROM records WHERE authority=? AND type=? AND "
            "business_key=?", authority, message_type, key,
        )  # fmt: skip
        if existing and existing[0] == guid and self.knobs.duplicate_key_on_resend:
            self.watch.duplicate_key(authority, message_type, key, guid)
            return {"declGuid": guid, "orderNo": order_no, "returnStatus": -1,
                    "returnInfo": "duplicate business key"}  # fmt: skip
        if existing and existing[0] == guid:  # a resend: idempotent, answer what we know
            self.watch.resend(message_type)
            return {"declGuid": guid, "orderNo": order_no, "returnStatus": existing[1],
                    "returnInfo": existing[2] or ""}  # fmt: skip
        if existing:
            self.watch.duplicate_key(authority, message_type, key, guid)
            return {"declGuid": guid, "orderNo": order_no, "returnStatus": -1,
                    "returnInfo": "duplicate business key"}  # fmt: skip
        if self._quiet("forget_after_accept", message_type):  # answered, then lost
            return {"declGuid": guid, "orderNo": order_no, "returnStatus": 2,
                    "returnInfo": "declaring"}  # fmt: skip
        self._exec(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 2, '', '')",
            authority, guid, message_type, order_no, key, json.dumps(record),
        )  # fmt: skip
        self.stats["records"] += 1
        self.emit(authority, guid, 2, "declaring")
        if self._quiet("mute_after_accept", message_type):
            self._exec("INSERT OR IGNORE INTO muted VALUES (?, ?)", authority, guid)
        if self._quiet("stall_after_accept", message_type):
            return {"declGuid": guid, "orderNo": order_no, "returnStatus": 2,
                    "returnInfo": "declaring"}  # fmt: skip
        self.later(1, self._first_step, authority, message_type, guid, record)
        return {"declGuid": guid, "orderNo": order_no, "returnStatus": 2, "returnInfo": "declaring"}

    def _status(self, authority: str, guid: str) -> int:
        row = self._one("SELECT status FROM records WHERE authority=? AND guid=?", authority, guid)
        return row[0] if row else 0

    def _first_step(self, authority: str, message_type: str, guid: str, record: dict,
                    waiting_since: float | None = None) -> None:  # fmt: skip
        if self._status(authority, guid) != 2:
            return  # ran before the restart (or the record is gone)
        if message_type == "CEB621":
            return self._inventory(authority, guid, record, waiting_since)
        if message_type == "CEB623":
            return self._cancel(authority, guid, record)
        if message_type == "CEB625":
            return self._refund(authority, guid, record)
        if message_type == "CEB513":
            return self._waybill_status(authority, guid, record)
        reason = first_checks(message_type, record["head"], self.knobs)
        self.emit(authority, guid, 100 if reason else 120, reason or "logical checks passed")

    def _inventory(self, authority: str, guid: str, record: dict,
                   waiting_since: float | None = None) -> None:  # fmt: skip
        head = record["head"]
        if authority == "ciq":
            self.emit(authority, guid, 120, "CIQ accepted")
            self.later(1, self._conclude, authority, guid, self.knobs.ciq_inspection_rate)
            return
        order_no = head["orderNo"]
        found = {
            "order": self.record("customs", "CEB311", order_no),
            "payment": self._payment(order_no),
            "waybill": self.record("customs", "CEB511", order_no),
        }
        since = waiting_since or time.time()
        if None in found.values() and time.time() - since < self.knobs.documents_wait_seconds:
            # Filed by other parties (the payment company's CEB411): it may still come.
            self.later(0, self._first_step, authority, "CEB621", guid, record, since,
                       seconds=DOCUMENTS_RECHECK_SECONDS)  # fmt: skip
            return
        docs = {n: (r if r and r["status"] not in (100, 0) else None) for n, r in found.items()}
        reasons = three_order_reasons(
            inventory=record, positive=self.positive, knobs=self.knobs, **docs
        )
        if reasons:
            self.emit(authority, guid, 100, "; ".join(reasons)[:480])
            return
        invt_no = f"4601{datetime.now(UTC):%Y}I{next(self.counter):09d}"
        self._exec("UPDATE records SET invt_no=? WHERE authority=? AND guid=?", invt_no,
                   authority, guid)  # fmt: skip
        self.emit(authority, guid, 120, "logical checks passed")
        self.later(1, self._review, authority, guid)

    def _payment(self, order_no: str) -> dict | None:
        row = self._one(
            "SELECT data, status FROM records WHERE authority='customs' AND type='CEB411' AND "
            "order_no=? ORDER BY rowid DESC", order_no,
        )  # fmt: skip
        return {**json.loads(row[0]), "status": row[1]} if row else None

    def _review(self, authority: str, guid: str) -> None:
        if self._status(authority, guid) != 120:
            return  # cancelled or rejected meanwhile
        self.emit(authority, guid, 399, "review concluded")
        self.later(1, self._conclude, authority, guid, self.knobs.inspection_rate)

    def _conclude(self, authority: str, guid: str, inspection_rate: float) -> None:
        if self._status(authority, guid) not in (120, 399):
            return
        if goes_to_inspection(inspection_rate):
            self.emit(authority, guid, 500, f"{authority} inspection ordered")
        else:
            self.emit(authority, guid, 800, "released")

    def _cancel(self, authority: str, guid: str, record: dict) -> None:
        target = self.record(authority, "CEB621", record["head"]["orderNo"])
        if target is None or target["status"] in (800, 899):
            self.emit(authority, guid, 100, "inventory list already released or unknown")
            return
        self._exec("UPDATE records SET status=700 WHERE authority=? AND guid=?", authority,
                   target["guid"])  # fmt: skip
        self.emit(authority, guid, 120, "cancellation accepted")
        self.later(1, self._advance, authority, guid, 399, "inventory list cancelled")

    def _waybill_status(self, authority: str, guid: str, record: dict) -> None:
        """Goods may leave the zone ("L") only on an accepted waybill whose inventory list was
        released; a signature ("S") only after they left."""
        head = record["head"]
        order_no = self._waybill_order(head["logisticsNo"])
        waybill = self.record("customs", "CEB511", order_no) if order_no else None
        if waybill is None or waybill["status"] in (0, 100):
            self.emit(authority, guid, 100, f"no accepted waybill {head['logisticsNo']}")
            return
        listed = self.record("customs", "CEB621", order_no)
        if listed is None or listed["status"] not in (800, 899):
            self.emit(authority, guid, 100, "the inventory list is not released")
            return
        if head["logisticsStatus"] == "S":
            left = self._one(
                "SELECT status FROM records WHERE authority=? AND type='CEB513' AND "
                "business_key=?", authority, f"{head['logisticsNo']}|L",
            )  # fmt: skip
            if not left or left[0] in (0, 100):
                self.emit(authority, guid, 100, "signed for before leaving the zone")
                return
        self.emit(authority, guid, 120, "waybill status recorded")

    def _refund(self, authority: str, guid: str, record: dict) -> None:
        target = self.record(authority, "CEB621", record["head"]["orderNo"])
        if target is None or target["status"] not in (800, 899):
            self.emit(authority, guid, 100, "only released inventory lists can be returned")
            return
        self.emit(authority, guid, 120, "return accepted")
        self.later(1, self._advance, authority, guid, 399, "return approved")
