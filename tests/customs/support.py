"""The sandbox authority as a real process on a free port, and helpers to drive filing."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

import requests
from django.conf import settings

from customs.signing import signed_headers
from tests.support import ManagedProcess


class SandboxProcess(ManagedProcess):
    """The sandbox authority on a free port; `base` is its URL once it listens."""

    name = "sandbox"

    def __init__(self, db_path: Path, *, callback_url: str = "") -> None:
        super().__init__()
        self.db_path = db_path
        self.callback_url = callback_url
        self.base = ""
        self.secret = settings.CUSTOMS_GATEWAY_SECRET

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "manage.py", "run_customs_sandbox", "--port", "0",
            "--db", str(self.db_path), "--latency-ms", "0",
            "--callback-url", self.callback_url,
        ]  # fmt: skip
        return cmd if self.callback_url else [*cmd, "--no-push"]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "CUSTOMS_GATEWAY_SECRET": self.secret}

    def on_line(self, line: str) -> bool:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            self.base = found.group(1)
        return bool(found)

    @property
    def customs_url(self) -> str:
        return f"{self.base}/customs"

    @property
    def ciq_url(self) -> str:
        return f"{self.base}/ciq"

    def _signed(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        headers = signed_headers(
            secret=self.secret, method=method, path=path, body=body,
            sender="TEST",
        )  # fmt: skip
        return requests.request(method, self.base + path, data=body, headers=headers, timeout=10)

    def control(self, **knobs) -> dict:
        response = self._signed("POST", "/sandbox/control", json.dumps(knobs).encode())
        response.raise_for_status()
        return response.json()["knobs"]

    def state(self) -> dict:
        return self._signed("GET", "/sandbox/state").json()

    def records(self, order_no: str) -> dict[str, dict]:
        """What the authority holds for an order, read from its own storage: by message type
        (and authority), its status, info and the record as it was filed."""
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute(
                "SELECT authority, type, status, info, data FROM records WHERE order_no=?",
                (order_no,),
            ).fetchall()
        finally:
            db.close()
        return {
            f"{authority}:{type_}": {"status": status, "info": info, "data": json.loads(data)}
            for authority, type_, status, info, data in rows
        }

    def reset(self) -> None:
        self.control(
            latency_ms=0, response_delay_ms=0, fail_next=0, fail_mode="500", error_rate=0.0,
            outage=False, inspection_rate=0.0, ciq_inspection_rate=0.0, reject_ebc_codes=[],
            reject_hs_codes=[], hold_next=0, hold_seconds=0, hold_types=[], mute_after_accept=0,
            stall_after_accept=0, forget_after_accept=0, quiet_types=[],
            duplicate_key_on_resend=False, status_query=True, documents_wait_seconds=30.0,
        )  # fmt: skip


def drive(order_no: str, *, until=("released", "rejected", "cancelled"), timeout: float = 60):
    """File and poll in this process (no worker) until the order's clearance settles. The
    deadline is sized for a machine running another suite beside this one (a few seconds is
    the usual; only a stuck order waits it out)."""
    from customs import selectors, services

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.declarations_file()
        for authority in ("customs", "ciq"):
            services.receipts_poll(authority=authority)
        view = selectors.order_clearance(order_no)
        if view and view.state in until:
            return view
        time.sleep(0.05)
    raise AssertionError(f"{order_no} did not reach {until}: {selectors.order_clearance(order_no)}")


class EPortStandInProcess(ManagedProcess):
    """The E-Port client stand-in (`run_eport_standin`) on its folders and a free port."""

    name = "eport-standin"

    def __init__(self, root: Path, *, platform_key: str, standin_key: str, cert_no: str) -> None:
        super().__init__()
        self.root = root
        self.platform_key, self.standin_key, self.cert_no = platform_key, standin_key, cert_no
        self.base = ""

    def folder(self, name: str) -> Path:
        return self.root / name

    def command(self) -> list[str]:
        return [
            sys.executable, "manage.py", "run_eport_standin", "--port", "0",
            "--db", str(self.root / "standin.sqlite3"), "--latency-ms", "0",
            "--outbox", str(self.folder("outbox")), "--inbox", str(self.folder("inbox")),
            "--sent", str(self.folder("sent")),
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        from customs import sm2

        return {
            **os.environ,
            "CUSTOMS_EPORT_PLATFORM_PUBLIC_KEY": sm2.public_key_of(self.platform_key),
            "CUSTOMS_EPORT_STANDIN_PRIVATE_KEY": self.standin_key,
            "CUSTOMS_SIGNER_CERT_NO": self.cert_no,
        }

    def on_line(self, line: str) -> bool:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            self.base = found.group(1)
        return bool(found)


def drive_files(order_no: str, *, until=("released", "rejected", "cancelled"), timeout=60):
    """`drive` through the exchange folders: file, then take the inbox, until it settles."""
    from customs import selectors, services
    from customs.services.exchange import eport_inbox_process

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.declarations_file()
        eport_inbox_process()
        view = selectors.order_clearance(order_no)
        if view and view.state in until:
            return view
        time.sleep(0.1)
    raise AssertionError(f"{order_no} did not reach {until}: {selectors.order_clearance(order_no)}")
