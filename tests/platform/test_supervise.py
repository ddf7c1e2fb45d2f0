"""`make run`'s supervisor (deploy/supervise.py): a SIGKILLed worker comes back and the output
says so; a process that keeps failing is restarted with growing back-off; SIGINT (Ctrl-C) and
SIGTERM stop every process, their children included."""

from __future__ import annotations

import io
import os
import re
import signal
import sys

import pytest

from tests.support import BASE_DIR, ManagedProcess, test_database_url, wait_until

SUPERVISE = str(BASE_DIR / "deploy" / "supervise.py")


def _supervise_module():
    """deploy/supervise.py imported as a module (it is a script beside the project)."""
    sys.path.insert(0, str(BASE_DIR / "deploy"))
    try:
        import supervise
    finally:
        sys.path.pop(0)
    return supervise


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class SupervisorProcess(ManagedProcess):
    name = "supervisor"

    def __init__(self, procfile, *args: str) -> None:
        super().__init__()
        self.procfile = procfile
        self.args = args

    def command(self) -> list[str]:
        return [sys.executable, SUPERVISE, str(self.procfile), "--env-file", "/nonexistent",
                *self.args]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": test_database_url()}

    def on_line(self, line: str) -> bool:
        return " started (pid " in line

    def text(self) -> str:
        return "".join(self.output)

    def pid_of(self, name: str, *, nth: int = 1) -> int:
        pids = re.findall(rf"system\s+\| {name} (?:started|restarted) \(pid (\d+)\)", self.text())
        return int(pids[nth - 1]) if len(pids) >= nth else 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_the_output_says_so(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"worker: {sys.executable} -m celery -A config worker --loglevel=INFO --concurrency=1"
        " --without-gossip --without-mingle --without-heartbeat -Q default\n"
        "idle: sleep 600\n"
    )
    supervisor = SupervisorProcess(procfile, "--backoff-base", "0.5").start()
    try:
        wait_until(lambda: supervisor.text().count(" ready.") >= 1, timeout=120)
        first = supervisor.pid_of("worker")
        idle = supervisor.pid_of("idle")
        os.killpg(first, signal.SIGKILL)  # the worker and its pool, as a crash would
        wait_until(lambda: supervisor.pid_of("worker", nth=2), timeout=30)
        text = supervisor.text()
        assert re.search(r"system\s+\| worker exited \(killed by SIGKILL\) after [\d.]+ s; "
                         r"restart 1 in 0.5 s", text), text[-3000:]  # fmt: skip
        wait_until(lambda: supervisor.text().count(" ready.") >= 2, timeout=120)  # serving again
        second = supervisor.pid_of("worker", nth=2)
        assert second != first and _alive(second) and not _alive(first)
        assert _alive(idle) and "idle exited" not in supervisor.text()  # left alone
    finally:
        supervisor.proc.send_signal(signal.SIGINT)  # Ctrl-C
        supervisor.proc.wait(30)
    assert supervisor.proc.returncode == 0
    wait_until(lambda: not _alive(second) and not _alive(idle), timeout=10)
    assert "all processes stopped" in supervisor.text()


def test_a_process_that_keeps_failing_backs_off_and_sigterm_stops_everything(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("flaky: echo up; exit 3\nidle: sleep 600\n")
    supervisor = SupervisorProcess(
        procfile, "--backoff-base", "0.2", "--backoff-max", "0.8", "--stable-seconds", "5"
    ).start()
    try:
        wait_until(lambda: "restart 4 in" in supervisor.text(), timeout=30)
    finally:
        supervisor.proc.terminate()
        supervisor.proc.wait(30)
    delays = re.findall(r"flaky exited \(code 3\) after [\d.]+ s; restart \d+ in ([\d.]+) s",
                        supervisor.text())  # fmt: skip
    assert delays[:4] == ["0.2", "0.4", "0.8", "0.8"]
    assert len(re.findall(r"flaky\s+\| up", supervisor.text())) >= 4
    idle = supervisor.pid_of("idle")
    wait_until(lambda: not _alive(idle), timeout=10)


def test_procfile_and_env_file_parsing(tmp_path):
    supervise = _supervise_module()
    assert supervise.parse_procfile("# c\n\nweb: a b\nworker:c -Q x\n") == [
        ("web", "a b"), ("worker", "c -Q x"),
    ]  # fmt: skip
    env = tmp_path / ".env"
    env.write_text("# x\nWEB_PORT=8123\nexport A='b c'\nBAD LINE\n")
    assert supervise.read_env_file(str(env)) == {"WEB_PORT": "8123", "A": "b c"}
    out = io.StringIO()
    sup = supervise.Supervisor([("x", "true")], backoff_base=1, backoff_max=4, out=out)
    process = sup.processes[0]
    delays = []
    for _ in range(5):
        process.failures += 1
        delays.append(sup.delay_for(process))
    assert delays == [1, 2, 4, 4, 4]
    assert (
        supervise.describe_exit(-9) == "killed by SIGKILL"
        and supervise.describe_exit(2) == "code 2"
    )


# Runs the supervisor with its main loop's wait primitive sending SIGTERM to its own process
# on the first 0.2 s wait: the signal lands while the loop is inside that call (the old loop
# waited in threading.Event.wait, holding the Event's lock, and its handler's Event.set()
# then waited for that lock forever: `make run` ignored SIGTERM and CI hung).
_SIGNAL_INSIDE_THE_WAIT = """
import os, runpy, signal, sys, threading, time
fired = []
def _fire_once(seconds):
    if seconds == 0.2 and not fired and threading.current_thread() is threading.main_thread():
        fired.append(1)
        print("signal inside the wait", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
real_condition_wait, real_sleep = threading.Condition.wait, time.sleep
def condition_wait(self, timeout=None):
    _fire_once(timeout)
    return real_condition_wait(self, timeout)
def sleep(seconds):
    _fire_once(seconds)
    return real_sleep(seconds)
threading.Condition.wait, time.sleep = condition_wait, sleep
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_sigterm_that_lands_inside_the_main_loops_wait_still_stops_everything(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("idle: sleep 600\n")

    class Wrapped(SupervisorProcess):
        def command(self) -> list[str]:
            return [sys.executable, "-c", _SIGNAL_INSIDE_THE_WAIT, *super().command()[1:]]

    supervisor = Wrapped(procfile).start()
    try:
        code = supervisor.proc.wait(20)
    except Exception:
        supervisor.proc.kill()
        raise AssertionError("the supervisor ignored SIGTERM:\n" + supervisor.text()) from None
    text = supervisor.text()
    assert "signal inside the wait" in text and "all processes stopped" in text, text
    assert code == 0
    idle = supervisor.pid_of("idle")
    wait_until(lambda: not _alive(idle), timeout=10)


def test_back_off_stays_at_its_ceiling_after_any_number_of_failures():
    supervise = _supervise_module()
    sup = supervise.Supervisor(
        [("x", "true")], backoff_base=1.0, backoff_max=30.0, out=io.StringIO()
    )
    process = sup.processes[0]
    process.failures = 5000  # a process that failed every 30 s for two days (was OverflowError)
    assert sup.delay_for(process) == 30
