"""What the sandbox authority saw of its own requests, so a fault scenario can prove its fault
hit work in progress instead of sleeping and hoping.

- `in_flight`: the requests being handled right now (held or not), with their message type
  and order numbers; a test waits until the authority holds one, then injects its fault.
- the hold knobs (`hold_next`, `hold_seconds`, `hold_types` in Knobs): keep the next N
  matching message requests in flight for up to N seconds before the authority handles them.
  Setting `hold_seconds` to 0 lets go of the held ones at once.
- `abandoned`: answers their sender never read, because its connection closed before the
  answer was ready (a killed worker); the message itself was still handled, as a real
  gateway that has read the whole request does.
- `seen` per request type, `resends` (the same record guid again: answered idempotently) and
  `duplicate_keys` (another guid for a business key already held: the "duplicate business key"
  answer a real second send gets; kept in the sandbox's storage, so they survive a restart).
Kept apart from the authority's rules (server.py) and the HTTP front (http.py): those only
call begin/hold/end and the two counters.
"""

from __future__ import annotations

import itertools
import re
import select
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

# Duplicate-business-key answers outlive a restart of the sandbox (a fault scenario takes it
# down and counts at the end); the rest of the watch is per process.
SCHEMA = """
CREATE TABLE IF NOT EXISTS duplicate_answers (id INTEGER PRIMARY KEY AUTOINCREMENT,
    authority TEXT, type TEXT, business_key TEXT, guid TEXT, at REAL);
"""
MESSAGE_TYPE = re.compile(rb"<(?:[\w.-]+:)?(CEB\d{3})Message\b")
KEEP = 50  # abandoned requests and duplicate keys listed in full (the counts are complete)


def message_type_of(xml: bytes) -> str:
    """The CEB type from the root element, without validating (counting only)."""
    found = MESSAGE_TYPE.search(xml[:400])
    return found.group(1).decode() if found else "unknown"


def peer_gone(sock: socket.socket) -> bool:
    """True when the client closed its end (EOF or reset) while we still owe it an answer. A
    client waiting for our answer sends nothing, so anything readable means it went away."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


@dataclass
class Request:
    id: int
    method: str
    path: str
    authority: str
    kind: str  # CEB311 ... for messages, "receipts", "decisions"
    order_nos: list[str]
    started: float
    held: bool = False
    gone: bool = field(default=False, repr=False)

    def view(self, now: float) -> dict:
        data = asdict(self)
        data.pop("started")
        data["age_seconds"] = round(now - self.started, 3)
        return data


class Watch:
    def __init__(self, db=None, db_lock=None) -> None:
        self.db, self.db_lock = db, db_lock or threading.RLock()
        if db is not None:
            with self.db_lock:
                db.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.in_flight: dict[int, Request] = {}
        self.seen: Counter = Counter()
        self.held: Counter = Counter()
        self.answered: Counter = Counter()
        self.abandoned: list[dict] = []
        self.abandoned_count = 0
        self.resends: Counter = Counter()
        self.duplicate_keys: Counter = Counter()  # without a db: this process's only
        self.duplicate_key_list: list[dict] = []

    def begin(
        self, *, method: str, path: str, authority: str, kind: str, order_nos: list[str]
    ) -> Request:
        with self.lock:
            request = Request(next(self.ids), method, path, authority, kind, order_nos,
                              time.monotonic())  # fmt: skip
            self.in_flight[request.id] = request
            self.seen[kind] += 1
        return request

    def hold(self, request: Request, knobs, sock: socket.socket) -> None:
        """Keep a matching request in flight (hold knobs), or return at once. Stops holding as
        soon as its sender goes away or the knob is set back to 0."""
        with self.lock:
            wanted = knobs.hold_next > 0 and knobs.hold_seconds > 0
            types = knobs.hold_types
            if wanted and (request.kind in types if types else request.kind.startswith("CEB")):
                knobs.hold_next -= 1
                request.held = True
                self.held[request.kind] += 1
        if not request.held:
            return
        deadline = time.monotonic() + knobs.hold_seconds
        while time.monotonic() < deadline and knobs.hold_seconds > 0:
            if peer_gone(sock):
                request.gone = True
                return
            time.sleep(0.05)

    def end(self, request: Request, sock: socket.socket) -> None:
        """Called just before the answer is written: was anyone still waiting for it?"""
        gone = request.gone or peer_gone(sock)
        with self.lock:
            self.in_flight.pop(request.id, None)
            if gone:
                self.abandoned_count += 1
                if len(self.abandoned) < KEEP:
                    self.abandoned.append({"kind": request.kind, "authority": request.authority,
                                           "order_nos": request.order_nos,
                                           "held": request.held})  # fmt: skip
            else:
                self.answered[request.kind] += 1

    def resend(self, message_type: str) -> None:
        with self.lock:
            self.resends[message_type] += 1

    def duplicate_key(self, authority: str, message_type: str, key: str, guid: str) -> None:
        if self.db is not None:
            with self.db_lock:
                self.db.execute(
                    "INSERT INTO duplicate_answers (authority, type, business_key, guid, at) "
                    "VALUES (?, ?, ?, ?, ?)", (authority, message_type, key, guid, time.time()),
                )  # fmt: skip
            return
        with self.lock:
            self.duplicate_keys[message_type] += 1
            if len(self.duplicate_key_list) < KEEP:
                self.duplicate_key_list.append(
                    {"authority": authority, "type": message_type, "key": key, "guid": guid}
                )

    def _duplicates(self) -> tuple[dict, list[dict]]:
        if self.db is None:
            return dict(self.duplicate_keys), list(self.duplicate_key_list)
        with self.db_lock:
            counts = self.db.execute(
                "SELECT type, COUNT(*) FROM duplicate_answers GROUP BY type"
            ).fetchall()
            rows = self.db.execute(
                "SELECT authority, type, business_key, guid FROM duplicate_answers "
                "ORDER BY id DESC LIMIT ?", (KEEP,),
            ).fetchall()  # fmt: skip
        return dict(counts), [
            {"authority": a, "type": t, "key": k, "guid": g} for a, t, k, g in reversed(rows)
        ]

    def state(self) -> dict:
        now = time.monotonic()
        duplicate_keys, duplicate_key_answers = self._duplicates()
        with self.lock:
            return {
                "in_flight": [r.view(now) for r in self.in_flight.values()],
                "seen": dict(self.seen),
                "held": dict(self.held),
                "answered": dict(self.answered),
                "abandoned": self.abandoned_count,
                "abandoned_requests": list(self.abandoned),
                "resends": dict(self.resends),
                "duplicate_keys": duplicate_keys,
                "duplicate_key_answers": duplicate_key_answers,
            }
