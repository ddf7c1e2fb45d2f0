#!/usr/bin/env python3
"""`make run`'s process supervisor: starts every line of a Procfile, prefixes their output
(as honcho did), and restarts a process that exits, with back-off, saying so:

    07:10:04 system          | worker exited (killed by SIGKILL) after 12.3 s; restart 1 in 1.0 s
    07:10:05 system          | worker restarted (pid 4242)

A process that ran `--stable-seconds` before exiting restarts after `--backoff-base` seconds;
one that keeps failing waits twice as long each time, up to `--backoff-max`. Ctrl-C (SIGINT)
or SIGTERM stops everything: SIGTERM to each process group, SIGKILL after `--stop-timeout`.

Each process runs in a session of its own (so its children, e.g. a worker's pool, are stopped
with it) and dies with the supervisor (PR_SET_PDEATHSIG) if the supervisor is killed.
Standard library only: usable before the virtualenv exists and outside Django.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

SYSTEM = "system"


def parse_procfile(text: str) -> list[tuple[str, str]]:
    """`name: command` lines; blank lines and # comments skipped."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        found = re.match(r"^([A-Za-z0-9_-]+)\s*:\s*(.+)$", line)
        if not found:
            raise ValueError(f"not a Procfile line: {line!r}")
        entries.append((found.group(1), found.group(2)))
    return entries


def read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (as honcho read it), for `${VAR}` in the commands."""
    values = {}
    if not os.path.exists(path):
        return values
    with open(path, encoding="utf-8") as f:
        for line in f:
            found = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
            if found:
                value = found.group(2)
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[found.group(1)] = value
    return values


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"code {code}"


# Resolved here, in the parent: between fork and exec the child runs Python with other threads'
# locks frozen as they were, so it must not import or look anything up there.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_supervisor() -> None:  # in the child, before exec
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Process:
    name: str
    command: str
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0  # consecutive exits before --stable-seconds
    restart_at: float | None = None
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    def __init__(
        self, entries, *, backoff_base=1.0, backoff_max=30.0, stable_seconds=30.0,
        stop_timeout=10.0, out=None, env=None,
    ) -> None:  # fmt: skip
        self.env = env
        self.processes = [Process(name, command) for name, command in entries]
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_seconds = stable_seconds
        self.stop_timeout = stop_timeout
        self.out = out or sys.stdout
        self.width = max([len(SYSTEM), *(len(p.name) for p in self.processes)])
        self.lock = threading.Lock()
        self.stopping = False
        self.stop_requested = False  # set by the signal handler: a plain flag, no lock

    # --- output ----------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self.lock:
            self.out.write(f"{stamp} {name:<{self.width}} | {line.rstrip()}\n")
            self.out.flush()

    def _pump(self, process: Process, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.say(process.name, raw.decode(errors="replace"))
        stream.close()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, process: Process) -> None:
        process.proc = subprocess.Popen(
            ["/bin/sh", "-c", process.command], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_supervisor, env=self.env,
        )  # fmt: skip
        process.started_at = time.monotonic()
        process.restart_at = None
        reader = threading.Thread(target=self._pump, args=(process, process.proc.stdout))
        reader.daemon = True
        reader.start()
        process.readers = [reader]

    def delay_for(self, process: Process) -> float:
        doublings = min(max(process.failures - 1, 0), 64)  # 2 ** 1024 would not fit a float
        return min(self.backoff_base * 2**doublings, self.backoff_max)

    def check(self) -> None:
        """One round: note exits and schedule restarts; start what is due."""
        now = time.monotonic()
        for process in self.processes:
            if process.proc is not None and process.restart_at is None:
                code = process.proc.poll()
                if code is None:
                    continue
                ran = now - process.started_at
                process.failures = 1 if ran >= self.stable_seconds else process.failures + 1
                delay = self.delay_for(process)
                process.restarts += 1
                process.restart_at = now + delay
                for reader in process.readers:
                    reader.join(1)  # its last lines before the notice
                self.say(
                    SYSTEM,
                    f"{process.name} exited ({describe_exit(code)}) after {ran:.1f} s; "
                    f"restart {process.restarts} in {delay:.1f} s",
                )
            elif process.restart_at is not None and now >= process.restart_at:
                self.start(process)
                self.say(SYSTEM, f"{process.name} restarted (pid {process.proc.pid})")

    def stop_all(self) -> None:
        self.stopping = True
        running = [p for p in self.processes if p.proc and p.proc.poll() is None]
        self.say(SYSTEM, "stopping " + (", ".join(p.name for p in running) or "nothing"))
        for process in running:
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.proc.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                self.say(SYSTEM, f"{process.name} did not stop: SIGKILL")
        for process in running:  # the whole group: a pool process left behind too
            self._signal(process, signal.SIGKILL)
            process.proc.wait()
            for reader in process.readers:
                reader.join(1)
        self.say(SYSTEM, "all processes stopped")

    @staticmethod
    def _signal(process: Process, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.proc.pid, signum)

    def request_stop(self, signum, frame) -> None:
        # A signal handler runs between two bytecodes of the main thread, wherever it is: one
        # that took a lock (threading.Event.set() does) deadlocked when SIGTERM landed while the
        # main loop held that same lock inside Event.wait(), and `make run` never stopped.
        self.stop_requested = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        for process in self.processes:
            if self.stop_requested:
                break
            self.start(process)
            self.say(SYSTEM, f"{process.name} started (pid {process.proc.pid})")
        try:
            while not self.stop_requested:
                self.check()
                time.sleep(0.2)
        finally:
            self.stop_all()
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("procfile", nargs="?", default="Procfile.dev")
    parser.add_argument("--backoff-base", type=float, default=1.0)
    parser.add_argument("--backoff-max", type=float, default=30.0)
    parser.add_argument("--stable-seconds", type=float, default=30.0)
    parser.add_argument("--stop-timeout", type=float, default=10.0)
    parser.add_argument("--env-file", default=".env", help="read as honcho did; env wins")
    args = parser.parse_args(argv)
    env = {**read_env_file(args.env_file), **os.environ}
    with open(args.procfile, encoding="utf-8") as f:
        entries = parse_procfile(f.read())
    return Supervisor(
        entries, backoff_base=args.backoff_base, backoff_max=args.backoff_max,
        stable_seconds=args.stable_seconds, stop_timeout=args.stop_timeout, env=env,
    ).run()  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
