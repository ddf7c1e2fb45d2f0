"""The sandbox authority as a real process on a free port, and helpers to drive filing."""

from __future__ import annotations

import json
import os
import re
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

    def reset(self) -> None:
        self.control(
            latency_ms=0, response_delay_ms=0, fail_next=0, fail_mode="500", error_rate=0.0,
            outage=False, inspection_rate=0.0, ciq_inspection_rate=0.0, reject_ebc_codes=[],
            reject_hs_codes=[], hold_next=0, hold_seconds=0, hold_types=[], mute_after_accept=0,
            stall_after_accept=0, forget_after_accept=0, quiet_types=[],
            duplicate_key_on_resend=False, status_query=True,
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
