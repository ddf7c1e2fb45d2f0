"""Fault injection with real processes: gunicorn serving the app, Celery workers and beat on a
private Redis, the customs sandbox authority, PostgreSQL. Each scenario puts a short burst of
orders through (placed and paid over HTTP, as shoppers would), injects its fault, waits for
the system to settle, then prints what it injected and counted and asserts nothing was lost
and nothing duplicated: every paid order released, no declaration stored twice by the
authority or by us, each release written off the account book once, and the book reconciling
with the stock under bond.

Sweeps run every 2 s here (env of the processes), so recovery shows in seconds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.db.models import Count, Sum

from tests.proof.support import (
    Beat,
    FixedPortSandbox,
    Gunicorn,
    PrivateRedis,
    csrf_of,
    free_port,
    process_env,
)
from tests.support import WorkerProcess, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]
FINAL = ("released", "rejected", "cancelled")


@dataclass
class Stack:
    tmp: Path
    env: dict
    redis: PrivateRedis
    sandbox: FixedPortSandbox
    web: Gunicorn
    beat: Beat
    tokens: list[str]
    listings: list[int]
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    held_down: set[str] = field(default_factory=set)
    restarts: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start_worker(self, name: str) -> WorkerProcess:
        queues = {"filing": "customs_filing", "receipts": "customs_receipts",
                  "default": "default"}[name]  # fmt: skip
        worker = WorkerProcess(queues, concurrency=2, extra_env=self.env).start()
        self.workers[name] = worker
        self.held_down.discard(name)
        return worker

    def kill_worker(self, name: str) -> None:
        self.held_down.add(name)  # the test restarts it itself, when it chooses
        self.workers[name].kill()

    def supervise(self) -> None:
        """What systemd (Restart=always) or Kubernetes does in production: start again a
        worker that exited. Celery's Redis transport can exit a worker on a broker restart
        (kombu restoring unacknowledged messages on a dead connection: "Unrecoverable
        error"); the durable state and the sweeps make that safe, the supervisor makes it
        short."""
        while not self.stopping.wait(0.5):
            for name, worker in list(self.workers.items()):
                if name not in self.held_down and worker.proc and worker.proc.poll() is not None:
                    self.restarts.append(f"supervisor restarted the {name} worker "
                                         f"(exit {worker.proc.returncode})")  # fmt: skip
                    self.start_worker(name)

    def stop(self) -> None:
        self.stopping.set()
        for process in [*self.workers.values(), self.beat, self.web, self.sandbox]:
            process.stop()
        self.redis.stop()

    # --- load, over HTTP like shoppers -------------------------------------------------------
    def place(self, i: int) -> str | None:
        response = requests.post(
            f"{self.web.url}/api/v1/orders/place/",
            json={"delivery": {"mode": "pickup", "counter_code": "C-ZZ1"},
                  "lines": [{"listing_id": self.listings[i % 2], "quantity": 1}]},
            headers={"Authorization": f"Token {self.tokens[i % 2]}"}, timeout=30,
        )  # fmt: skip
        return response.json()[0]["number"] if response.status_code == 201 else None

    def pay(self, number: str, i: int) -> bool:
        started = requests.post(
            f"{self.web.url}/api/v1/orders/{number}/payment/",
            headers={"Authorization": f"Token {self.tokens[i % 2]}"}, timeout=30,
        )  # fmt: skip
        if started.status_code != 201:
            return False
        phone = requests.Session()
        page = phone.get(started.json()["pay_url"], timeout=30)
        paid = phone.post(page.url, data={"csrfmiddlewaretoken": csrf_of(page.text)}, timeout=30)
        return paid.status_code == 200 and 'id="paid"' in paid.text

    def burst(self, n: int, *, offset: int = 0, pay: bool = True) -> tuple[list[str], list[str]]:
        with ThreadPoolExecutor(4) as pool:
            numbers = [x for x in pool.map(self.place, range(offset, offset + n)) if x]
            if not pay:
                return numbers, []
            ok = pool.map(lambda p: self.pay(*p) and p[0], zip(numbers, range(n), strict=True))
            return numbers, [x for x in ok if x]


@pytest.fixture
def stack(world, tmp_path, settings):
    from rest_framework.authtoken.models import Token

    redis = PrivateRedis().start()
    web_port, sandbox_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    env = process_env(
        broker=redis.url, sandbox_base=f"http://127.0.0.1:{sandbox_port}", web_url=web_url,
        secrets={"PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
                 "CUSTOMS_GATEWAY_SECRET": settings.CUSTOMS_GATEWAY_SECRET,
                 "DELIVERY_DOCK_CODE": "CW-DOCK"},
    )  # fmt: skip
    sandbox = FixedPortSandbox(
        tmp_path / "authority.sqlite3",
        port=sandbox_port,
        callback_url=f"{web_url}/api/v1/customs/receipts",
    ).start()
    web = Gunicorn(env, web_port).start()
    beat = Beat(env, tmp_path / "beat-schedule").start()
    tokens = [Token.objects.create(user=s.user).key for s in (world.shopper, world.other)]
    built = Stack(tmp_path, env, redis, sandbox, web, beat, tokens,
                  [world.paste.pk, world.milk.pk])  # fmt: skip
    try:
        for name in ("filing", "receipts", "default"):
            built.start_worker(name)
        threading.Thread(target=built.supervise, daemon=True).start()
        yield built
    finally:
        built.stop()


def settle_and_count(stack: Stack, scenario: str, injected: list[str], placed, paid) -> dict:
    """Wait for every paid order to be final, then count and check the books."""
    from bonded.models import AccountBookEntry, Move
    from bonded.services import reconcile
    from customs.models import Declaration
    from marketplace.models import Order

    def unsettled():
        return set(paid) - set(
            Order.objects.filter(number__in=paid, state__in=FINAL).values_list("number", flat=True)
        )

    deadline = time.monotonic() + 120
    while unsettled() and time.monotonic() < deadline:
        time.sleep(0.5)
    injected = injected + stack.restarts
    lost = unsettled()
    released = Order.objects.filter(number__in=paid, state="released").count()
    ours = (
        Declaration.objects.filter(order_no__in=placed)
        .exclude(state="cancelled")
        .values("kind", "authority", "order_no")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    theirs = stack.sandbox.duplicated_records()
    moved = Move.objects.filter(kind="release").aggregate(q=Sum("quantity"))["q"] or 0
    written_off = (
        AccountBookEntry.objects.filter(kind="write_off").aggregate(q=Sum("quantity"))["q"] or 0
    )
    released_all = Order.objects.filter(state__in=["released", "delivered"]).count()
    over_released = max(0, moved - released_all) + max(0, written_off - released_all)
    duplicated = ours + theirs + over_released
    differences = reconcile()
    print(
        f"\n[{scenario}] injected: {'; '.join(injected)}\n"
        f"[{scenario}] placed={len(placed)} paid={len(paid)} released={released} "
        f"lost={len(lost)} duplicated={duplicated} (declarations twice: ours={ours} "
        f"authority={theirs}; units released from bond={moved}, written off={written_off} "
        f"for {released_all} released orders) book differences={len(differences)}"
    )
    if lost:
        states = Order.objects.filter(number__in=lost).values_list("state", flat=True)
        print(f"[{scenario}] lost orders' states: {sorted(states)}")
        for name, process in [*stack.workers.items(), ("beat", stack.beat), ("web", stack.web)]:
            print(f"--- {name} (last lines)\n" + "".join(process.output[-25:]))
            (stack.tmp.parent / f"proof-{name}.log").write_text("".join(process.output))
    assert len(placed) >= 10 and len(paid) == len(placed), "the load itself must go through"
    assert not lost, f"lost: {sorted(lost)}"
    assert duplicated == 0
    assert released == len(paid)
    assert moved == written_off == released_all
    assert differences == []
    return {"lost": len(lost), "duplicated": duplicated}


def _blocked_backend(locker) -> int | None:
    row = locker.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return row[0] if row else None


def _busy(worker: WorkerProcess) -> bool:
    return any("Task" in line and "received" in line for line in worker.output)


def test_worker_killed_while_filing_and_while_applying_receipts(stack):
    injected = []
    # Slow answers keep filing requests in flight, so the kill lands mid-send.
    stack.sandbox.control(response_delay_ms=400)
    placed, _ = stack.burst(10, pay=False)
    wait_until(lambda: _busy(stack.workers["filing"]), timeout=30)
    time.sleep(0.5)
    stack.kill_worker("filing")
    injected.append("SIGKILL filing worker mid-send")
    more, _ = stack.burst(10, offset=10, pay=False)  # filed by nobody until the restart
    placed += more
    time.sleep(1)
    stack.start_worker("filing")
    injected.append("filing worker restarted")
    stack.sandbox.control(response_delay_ms=0, latency_ms=300)
    with ThreadPoolExecutor(4) as pool:
        paid = [n for n in pool.map(lambda p: stack.pay(*p) and p[0],
                                    zip(placed, range(len(placed)), strict=True)) if n]  # fmt: skip
    wait_until(lambda: _busy(stack.workers["receipts"]), timeout=60)
    time.sleep(1)
    stack.kill_worker("receipts")
    injected.append("SIGKILL receipts worker while applying receipts")
    time.sleep(2)
    stack.start_worker("receipts")
    injected.append("receipts worker restarted")
    settle_and_count(stack, "worker killed", injected, placed, paid)


def test_sandbox_down_then_500_then_slow_under_load_then_recovers(stack):
    injected = []
    stack.sandbox.stop()
    injected.append("sandbox down (connection refused)")
    placed, paid = stack.burst(12)
    time.sleep(3)
    stack.sandbox = stack.sandbox.restarted()
    stack.sandbox.control(error_rate=1.0)
    injected.append("sandbox up, every answer 500")
    more, more_paid = stack.burst(8, offset=12)
    placed, paid = placed + more, paid + more_paid
    time.sleep(3)
    stack.sandbox.control(error_rate=0.0, response_delay_ms=1500)  # read timeout is 1 s
    injected.append("sandbox answering after 1.5 s, past our 1 s read timeout")
    time.sleep(4)
    stack.sandbox.reset()
    injected.append("sandbox recovered")
    settle_and_count(stack, "sandbox faults", injected, placed, paid)


def test_redis_restarted_under_load_loses_and_duplicates_nothing(stack):
    injected = []
    holder = {}

    def load():
        holder["first"] = stack.burst(10)
        holder["second"] = stack.burst(10, offset=10)

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(2)
    stack.redis.restart()
    injected.append("redis restarted (every queued message lost)")
    time.sleep(3)
    stack.redis.restart()
    injected.append("redis restarted again")
    loader.join(120)
    placed = holder["first"][0] + holder["second"][0]
    paid = holder["first"][1] + holder["second"][1]
    settle_and_count(stack, "redis restart", injected, placed, paid)


def test_postgres_connection_dropped_mid_request_gives_a_clean_error_then_works(
    world, tmp_path, settings
):
    """A request blocked on a lock has its backend terminated: a clean JSON or HTML 500 (no
    stack trace), and the next request on the same server works."""
    import psycopg

    from marketplace.models import Listing

    web = Gunicorn(
        {**process_env(broker="redis://127.0.0.1:1/0", sandbox_base="http://127.0.0.1:1",
                       web_url="http://127.0.0.1", secrets={}),
         "DB_CONN_MAX_AGE": "60"},
        free_port(),
    ).start()  # fmt: skip
    params = {k: v for k, v in connection.get_connection_params().items()
              if k not in ("cursor_factory", "context")}  # fmt: skip
    table = Listing._meta.db_table
    injected, outcomes = [], []
    try:
        for path, kind in (("/api/v1/products/", "json"), ("/products/", "html")):
            locker = psycopg.connect(**params)
            result = {}
            try:
                locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')  # held
                request = threading.Thread(
                    target=lambda p=path, out=result: out.update(r=requests.get(
                        web.url + p, headers={"Accept-Language": "en"}, timeout=30)),
                )  # fmt: skip
                request.start()
                # Watched from another connection: pg_stat_activity is a per-transaction snapshot.
                watcher = psycopg.connect(**params, autocommit=True)
                victim = wait_until(lambda c=watcher: _blocked_backend(c), timeout=20)
                watcher.execute("SELECT pg_terminate_backend(%s)", [victim])
                watcher.close()
                injected.append(f"pg_terminate_backend({victim}) during GET {path}")
                request.join(30)
            finally:
                locker.rollback()
                locker.close()
            failed = result["r"]
            body = failed.text
            assert failed.status_code == 500, body[:500]
            assert "Traceback" not in body and "psycopg" not in body and 'File "' not in body
            if kind == "json":
                assert failed.json()["code"] == "server_error"
            else:
                assert "Something went wrong" in body
            after = requests.get(web.url + path, timeout=30)
            assert after.status_code == 200
            outcomes.append(f"{path}: {failed.status_code} clean, then {after.status_code}")
    finally:
        web.stop()
    print(f"\n[postgres drop] injected: {'; '.join(injected)}\n[postgres drop] "
          f"{'; '.join(outcomes)}; lost=0 duplicated=0")  # fmt: skip
