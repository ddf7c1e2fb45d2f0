"""The sandbox authority as a real process on a free port, and helpers to drive filing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings

from customs.signing import signed_headers
from tests.support import BASE_DIR, die_with_parent


class SandboxProcess:
    def __init__(self, db_path: Path, *, callback_url: str = "") -> None:
        self.db_path = db_path
        self.callback_url = callback_url
        self.output: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.secret = settings.CUSTOMS_GATEWAY_SECRET
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> SandboxProcess:
        cmd = [
            sys.executable, "manage.py", "run_customs_sandbox", "--port", "0",
            "--db", str(self.db_path), "--latency-ms", "0",
            "--callback-url", self.callback_url,
        ]  # fmt: skip
        if not self.callback_url:
            cmd.append("--no-push")
        env = {**os.environ, "CUSTOMS_GATEWAY_SECRET": self.secret}
        self.proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("sandbox did not start:\n" + "".join(self.output[-40:]))
        return self

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for text in self.proc.stdout:
            self.output.append(text)
            found = re.search(r"listening on (http://\S+)", text)
            if found:
                self.base = found.group(1)
                self._ready.set()

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
            reject_hs_codes=[],
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def drive(order_no: str, *, until=("released", "rejected", "cancelled"), timeout: float = 20):
    """File and poll in this process (no worker) until the order's clearance settles."""
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
