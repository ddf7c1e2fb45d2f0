"""Fault injection with real processes: gunicorn serving the app, Celery workers and beat on a
private Redis broker, a second private Redis as the cache, the customs sandbox authority,
PostgreSQL. Each scenario puts orders through (placed and paid over HTTP, as shoppers would;
every order has several lines and several units), injects its faults, waits for the system
to settle, then prints what it injected and counted and asserts nothing was lost and nothing
duplicated.

Each fault is confirmed to have hit work in progress, never timed by a sleep: a worker is
killed while the authority holds one of its requests in flight (and the authority then
reports the answer went unread), the receipts worker while it holds unacknowledged messages,
the sandbox taken down while it holds a request, Redis restarted while it holds messages and
keys.

Duplicates are counted as the authority sees them (customs/sandbox/watch.py): its
"duplicate business key" answers to a second send and any second record for an order,
besides our own declarations stored twice; released units are compared with the moves out of
bond and the account book's write-offs, per order and item.

Sweeps run every 2 s here (env of the processes), so recovery shows in seconds."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.db.models import Count

from tests.proof.support import (
    BASE_DIR,
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
LOGS = BASE_DIR / "ci-artifacts" / "proof-logs"  # every process's output, per scenario
SHOPPERS = 12  # enough resident IDs that 300 orders stay far inside each annual quota


def resident_id(n: int) -> str:
    from stdnum.cn import ric

    body = f"110105{1970 + n % 30}{1 + n % 12:02d}{1 + n % 28:02d}{100 + n:03d}"
    return body + ric.calc_check_digit(body + "0")  # it skips the last character


def shop(world) -> tuple[list[list[tuple[int, int]]], list]:
    """Two order shapes, one per merchant, several lines and units each (CIQ too for the
    milk), stock for a few hundred orders, and shoppers with resident IDs of their own."""
    from bonded.services import StockLine, stock_receive
    from tests.customs.factories import EntryFactory
    from tests.marketplace.factories import ListingFactory, ShopperFactory

    EntryFactory(hs_code="9603210000", description="toothbrush")
    EntryFactory(hs_code="0402290000", description="milk powder", quarantine=True)
    brush = ListingFactory(merchant=world.merchant, price=Decimal("20.00"),
                           item__hs_code="9603210000", item__item_no="BRUSH01")  # fmt: skip
    powder = ListingFactory(merchant=world.merchant2, price=Decimal("40.00"),
                            item__hs_code="0402290000", item__item_no="POWDER01")  # fmt: skip
    stock_receive(
        reference="ENTRY-CW-2",
        location_code=world.storage.code,
        entry_declaration_no="E460100000002",
        lines=[StockLine(x.item.item_no, 2000) for x in (world.paste, world.milk, brush, powder)],
        actor="test",
    )
    shapes = [
        [(world.paste.pk, 2), (brush.pk, 3)],  # 5 units, customs only
        [(world.milk.pk, 1), (powder.pk, 2)],  # 3 units, customs and CIQ
    ]
    shoppers = [world.shopper, world.other] + [
        ShopperFactory(resident_id=resident_id(n), real_name=f"王{n}") for n in range(SHOPPERS - 2)
    ]
    return shapes, shoppers


@dataclass
class Stack:
    tmp: Path
    env: dict
    redis: PrivateRedis
    cache: PrivateRedis
    sandbox: FixedPortSandbox
    web: Gunicorn
    beat: Beat
    tokens: list[str]
    shapes: list[list[tuple[int, int]]]
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    held_down: set[str] = field(default_factory=set)
    restarts: list[str] = field(default_factory=list)
    retried: Counter = field(default_factory=Counter)
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
        for worker in self.workers.values():  # counted already: no warm shutdown to wait for
            worker.kill()
        for process in [self.beat, self.web, self.sandbox]:
            process.stop()
        self.redis.stop()
        self.cache.stop()

    # --- load, over HTTP like shoppers -------------------------------------------------------
    def _http(self, method: str, url: str, *, session=None, **kwargs) -> requests.Response:
        """A shopper presses again after a server error or a dropped connection (a restart
        of the cache can fail the requests that were using it); each retry is counted."""
        session = session or requests
        for attempt in range(8):
            try:
                response = session.request(method, url, timeout=30, **kwargs)
                if response.status_code < 500:
                    return response
            except requests.ConnectionError:
                response = None
            self.retried[url.split("/")[-2] if url.endswith("/") else "page"] += 1
            time.sleep(0.25 * (attempt + 1))  # a person's pause before pressing again
        return response

    def token(self, i: int) -> str:
        return self.tokens[(i // len(self.shapes)) % len(self.tokens)]

    def place(self, i: int) -> str | None:
        """One placement; its retries carry the same Idempotency-Key, as a real client's do:
        an answer lost with a dropped connection is answered again, not placed twice."""
        lines = [{"listing_id": pk, "quantity": qty} for pk, qty in self.shapes[i % 2]]
        response = self._http(
            "POST", f"{self.web.url}/api/v1/orders/place/",
            json={"delivery": {"mode": "pickup", "counter_code": "C-ZZ1"}, "lines": lines},
            headers={"Authorization": f"Token {self.token(i)}",
                     "Idempotency-Key": f"proof-{uuid.uuid4()}"},
        )  # fmt: skip
        return response.json()[0]["number"] if response.status_code == 201 else None

    def pay(self, number: str, i: int) -> bool:
        started = self._http(
            "POST", f"{self.web.url}/api/v1/orders/{number}/payment/",
            headers={"Authorization": f"Token {self.token(i)}"},
        )  # fmt: skip
        if started.status_code != 201:
            return False
        phone = requests.Session()
        page = self._http("GET", started.json()["pay_url"], session=phone)
        paid = self._http("POST", page.url, session=phone,
                          data={"csrfmiddlewaretoken": csrf_of(page.text)})  # fmt: skip
        return paid.status_code == 200 and 'id="paid"' in paid.text

    def burst(self, n: int, *, offset: int = 0, pay: bool = True) -> tuple[list[str], list[str]]:
        with ThreadPoolExecutor(4) as pool:
            indexes = range(offset, offset + n)
            results = zip(pool.map(self.place, indexes), indexes, strict=True)
            placed = [(x, i) for x, i in results if x]
            numbers = [x for x, _ in placed]
            if not pay:
                return numbers, []
            ok = pool.map(lambda p: self.pay(*p) and p[0], placed)  # each by its own shopper
            return numbers, [x for x in ok if x]

    def shoppers(self, n: int, *, threads: int = 6) -> tuple[list[str], list[str]]:
        """n shoppers each placing an order and paying it at once, `threads` at a time, so
        filing, receipts and releases run while orders keep coming."""

        def one(i: int) -> tuple[str | None, bool]:
            number = self.place(i)
            return number, bool(number and self.pay(number, i))

        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(one, range(n)))
        return [x for x, _ in done if x], [x for x, ok in done if ok]


@pytest.fixture
def stack(world, tmp_path, settings):
    from rest_framework.authtoken.models import Token

    redis, cache = PrivateRedis().start(), PrivateRedis().start()
    web_port, sandbox_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    env = process_env(
        broker=redis.url, cache=cache.url, sandbox_base=f"http://127.0.0.1:{sandbox_port}",
        web_url=web_url,
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
    shapes, shoppers = shop(world)
    tokens = [Token.objects.create(user=s.user).key for s in shoppers]
    built = Stack(tmp_path, env, redis, cache, sandbox, web, beat, tokens, shapes)
    try:
        for name in ("filing", "receipts", "default"):
            built.start_worker(name)
        threading.Thread(target=built.supervise, daemon=True).start()
        yield built
    finally:
        built.stop()


# --- confirming a fault hit work in progress ------------------------------------------------
def held_request(stack: Stack, *, kinds: tuple[str, ...] = (), timeout: float = 180) -> dict:
    """Wait (deadline) until the authority holds a request of ours in flight."""

    def found():
        for request in stack.sandbox.watch()["in_flight"]:
            if request["held"] and (not kinds or request["kind"] in kinds):
                return request
        return None

    return wait_until(found, timeout=timeout, interval=0.05)


def kill_filing_worker_mid_request(
    stack: Stack, injected: list[str], kind: str, make_work: Callable[[], list[str]] | None = None
) -> list[str]:
    """Hold the filing worker's next `kind` request at the authority, SIGKILL the worker while
    it waits for the answer, and confirm the authority saw that answer go unread.

    The hold is armed before `make_work` creates the work (or while a load already runs):
    armed after a burst, its filings can all be answered already and no request is left to
    hold (seen on CI)."""
    before = stack.sandbox.watch()["abandoned"]
    stack.sandbox.control(hold_next=1, hold_seconds=120, hold_types=[kind])
    made = make_work() if make_work else []
    held = held_request(stack, kinds=(kind,))
    stack.kill_worker("filing")
    seen = wait_until(
        lambda: (w := stack.sandbox.watch())["abandoned"] > before and w, timeout=30, interval=0.05
    )
    unread = seen["abandoned_requests"][-1]
    assert unread["held"] and unread["order_nos"] == held["order_nos"]
    injected.append(
        f"SIGKILL filing worker while the authority held its {kind} for "
        f"{len(held['order_nos'])} order(s) {held['age_seconds']:.1f} s in flight "
        f"(authority: answer never read)"
    )
    stack.sandbox.control(hold_next=0, hold_seconds=0)
    stack.start_worker("filing")
    injected.append("filing worker restarted")
    return made


def kill_receipts_worker_holding_messages(stack: Stack, injected: list[str]) -> None:
    """Hold the receipts worker's poll at the authority (its task running, unacknowledged),
    SIGKILL the worker, and confirm it died with messages it never acknowledged."""
    before = stack.sandbox.watch()["abandoned"]
    stack.sandbox.control(hold_next=1, hold_seconds=120, hold_types=["receipts"])
    held_request(stack, kinds=("receipts",))
    stack.kill_worker("receipts")
    unacked = stack.redis.backlog().get("customs_receipts unacked", 0)
    wait_until(lambda: stack.sandbox.watch()["abandoned"] > before, timeout=30, interval=0.05)
    assert unacked >= 1, "the receipts worker died holding no message"
    injected.append(
        f"SIGKILL receipts worker while the authority held its receipt poll, {unacked} "
        f"message(s) unacknowledged (authority: answer never read)"
    )
    stack.sandbox.control(hold_next=0, hold_seconds=0)
    stack.start_worker("receipts")
    injected.append("receipts worker restarted")


def take_sandbox_down_mid_request(stack: Stack, injected: list[str], *, seconds: float) -> None:
    """Stop the authority while it holds one of our requests in flight (and whatever receipt
    steps it had scheduled), keep it down, start it again on the same address and storage."""
    stack.sandbox.control(hold_next=1, hold_seconds=120, hold_types=[])
    held = held_request(stack)
    pending = stack.sandbox.watch()["pending_steps"]
    stack.sandbox.stop()
    down_at = time.monotonic()
    injected.append(f"sandbox down while holding a {held['kind']} for "
                    f"{len(held['order_nos'])} order(s) in flight, {pending} receipt step(s) "
                    f"scheduled")  # fmt: skip
    # The fault is an outage of this length: the wait is the fault itself.
    stack.stopping.wait(max(0.0, seconds - (time.monotonic() - down_at)))
    stack.sandbox = stack.sandbox.restarted()
    injected.append(f"sandbox up again after {time.monotonic() - down_at:.0f} s")


def restart_redis_holding_work(stack: Stack, injected: list[str]) -> None:
    """Restart the broker's and the cache's Redis while they hold messages and keys."""
    # Both at once (deadline sized for workers a supervisor is still restarting).
    try:
        backlog, keys = wait_until(
            lambda: (b := stack.redis.backlog()) and (k := stack.cache.keys()) and (b, k),
            timeout=120, interval=0.02,
        )  # fmt: skip
    except BaseException:
        print(f"redis never held work: backlog={stack.redis.backlog()} cache keys="
              f"{stack.cache.keys()}; workers alive="
              f"{ {n: w.proc.poll() is None for n, w in stack.workers.items()} }")  # fmt: skip
        raise
    for server in (stack.redis, stack.cache):
        server.client().set("proof:before-restart", 1)
    stack.redis.restart()
    stack.cache.restart()
    lost = ", ".join(f"{n} {queue}" for queue, n in sorted(backlog.items()))
    injected.append(f"broker redis restarted holding {lost}; cache redis restarted holding "
                    f"{keys} key(s)")  # fmt: skip
    for server in (stack.redis, stack.cache):  # really restarted: what it held is gone
        assert not server.client().exists("proof:before-restart")


# --- settling and counting --------------------------------------------------------------------
def units(paid: list[str]) -> dict[str, Counter]:
    """Per (order, item): units ordered on released orders, moved out of bond, written off."""
    from bonded.models import AccountBookEntry, Move
    from customs.models import OrderClearance
    from marketplace.models import Order, OrderLine

    released = set(
        Order.objects.filter(number__in=paid, state="released").values_list("number", flat=True)
    )
    ordered, moved, written_off = Counter(), Counter(), Counter()
    for number, item, qty in OrderLine.objects.filter(order__number__in=released).values_list(
        "order__number", "item_no", "quantity"
    ):
        ordered[(number, item)] += qty
    for number, item, qty in Move.objects.filter(kind="release").values_list(
        "reference", "item__item_no", "quantity"
    ):
        moved[(number, item)] += qty
    order_of = dict(OrderClearance.objects.exclude(invt_no="").values_list("invt_no", "order_no"))
    for document, item, qty in AccountBookEntry.objects.filter(kind="write_off").values_list(
        "document_no", "record__item__item_no", "quantity"
    ):
        written_off[(order_of.get(document, document), item)] += qty
    return {"ordered": ordered, "moved": moved, "written_off": written_off}


def settle_and_count(
    stack: Stack, scenario: str, injected: list[str], placed, paid, *,
    last_fault: float | None = None, attempted: int | None = None,
) -> dict:  # fmt: skip
    """Wait (deadline: 2 minutes after the last fault) for every paid order to be final,
    then count and check the books."""
    from bonded.services import reconcile
    from customs.models import Declaration
    from marketplace.models import Order

    def unsettled():
        return set(paid) - set(
            Order.objects.filter(number__in=paid, state__in=FINAL).values_list("number", flat=True)
        )

    last_fault = last_fault or time.monotonic()
    deadline, report_at, progress = last_fault + 120, 0.0, []
    while (left := unsettled()) and time.monotonic() < deadline:
        if time.monotonic() >= report_at:  # the pace, for the note: final orders over time
            progress.append(f"{time.monotonic() - last_fault:.0f}s:{len(paid) - len(left)}")
            report_at = time.monotonic() + 15
        time.sleep(0.5)  # polling the database for the condition, deadline above
    settled_after = time.monotonic() - last_fault
    injected = injected + stack.restarts
    lost = unsettled()
    states = Counter(Order.objects.filter(number__in=paid).values_list("state", flat=True))
    rejected = dict(
        Order.objects.filter(number__in=paid, state="rejected").values_list(
            "number", "state_reason"
        )
    )
    ours = (
        Declaration.objects.filter(order_no__in=placed)
        .exclude(state="cancelled")
        .values("kind", "authority", "order_no")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    watch = stack.sandbox.watch()
    duplicate_keys = sum(watch["duplicate_keys"].values())
    second_records = len(watch["second_records"])
    counted = units(paid)
    ordered, moved, written_off = (sum(c.values()) for c in counted.values())
    lines = sum(1 for _ in counted["ordered"])
    differences = reconcile()
    print(
        f"\n[{scenario}] injected: {'; '.join(injected)}\n"
        f"[{scenario}] orders attempted={attempted or len(placed)} placed={len(placed)} "
        f"paid={len(paid)} final={dict(states)} lost={len(lost)}; settled "
        f"{settled_after:.0f} s after the last fault (final by then: {' '.join(progress)}); "
        f"shopper retries={dict(stack.retried)}\n"
        f"[{scenario}] duplicates: ours={ours} authority duplicate-business-key answers="
        f"{duplicate_keys} second records={second_records} (idempotent resends="
        f"{watch['resends']}); authority saw {watch['seen']}, answers never read="
        f"{watch['abandoned']}\n"
        f"[{scenario}] units on released orders={ordered} ({lines} order lines), moved out of "
        f"bond={moved}, written off the book={written_off}; book differences={len(differences)}"
    )
    LOGS.mkdir(parents=True, exist_ok=True)
    for name, process in [*stack.workers.items(), ("beat", stack.beat), ("web", stack.web)]:
        (LOGS / f"{scenario}-{name}.log").write_text("".join(process.output))
        if lost:
            print(f"--- {name} (last lines)\n" + "".join(process.output[-25:]))
    if lost:
        stuck = Order.objects.filter(number__in=lost).values_list("state", flat=True)
        print(f"[{scenario}] lost orders' states: {sorted(Counter(stuck).items())}")
    assert len(placed) >= 10 and len(paid) == len(placed), "the load itself must go through"
    if attempted:
        assert len(placed) == attempted, "every shopper's order was placed"
    assert not lost, f"not final within 2 minutes of the last fault: {sorted(lost)}"
    assert all(rejected.values()), f"rejected without a reason: {rejected}"
    assert states["released"] + len(rejected) == len(paid)
    assert ours == 0 and duplicate_keys == 0 and second_records == 0, watch
    assert counted["moved"] == counted["ordered"] == counted["written_off"]
    assert differences == []
    return {"lost": len(lost), "settled_after": settled_after, "units": ordered}


def test_worker_killed_while_filing_and_while_applying_receipts(stack):
    injected = []
    placed = kill_filing_worker_mid_request(
        stack, injected, "CEB311", lambda: stack.burst(10, pay=False)[0]
    )
    more, _ = stack.burst(10, offset=10, pay=False)
    placed += more
    assert len(placed) == 20  # index i is the shopper's order i below
    with ThreadPoolExecutor(4) as pool:  # receipts flow while the receipts worker dies
        paying = [pool.submit(stack.pay, number, i) for i, number in enumerate(placed)]
        kill_receipts_worker_holding_messages(stack, injected)
        paid = [number for number, done in zip(placed, paying, strict=True) if done.result()]
    settle_and_count(stack, "worker killed", injected, placed, paid, last_fault=time.monotonic())


def test_sandbox_down_then_500_then_slow_under_load_then_recovers(stack):
    injected = []
    holder = {}
    loader = threading.Thread(target=lambda: holder.update(first=stack.burst(12)))
    loader.start()
    take_sandbox_down_mid_request(stack, injected, seconds=3)
    loader.join(120)
    placed, paid = holder["first"]
    stack.sandbox.control(error_rate=1.0)
    injected.append("sandbox up, every answer 500")
    more, more_paid = stack.burst(8, offset=12)
    placed, paid = placed + more, paid + more_paid
    wait_until(lambda: stack.sandbox.state()["stats"]["failed_requests"] > 0, timeout=30)
    stack.sandbox.control(error_rate=0.0, response_delay_ms=6000)  # read timeout is 5 s
    injected.append("sandbox answering after 6 s, past our 5 s read timeout")
    wait_until(lambda: stack.sandbox.watch()["abandoned"] > 0, timeout=30)
    stack.sandbox.reset()
    injected.append("sandbox recovered")
    settle_and_count(stack, "sandbox faults", injected, placed, paid, last_fault=time.monotonic())


def test_redis_restarted_under_load_loses_and_duplicates_nothing(stack):
    injected = []
    holder, second = {}, threading.Event()

    def load():
        holder["first"] = stack.burst(10)
        second.set()
        holder["second"] = stack.burst(10, offset=10)

    loader = threading.Thread(target=load)
    loader.start()
    restart_redis_holding_work(stack, injected)  # during the first burst
    assert second.wait(180)
    restart_redis_holding_work(stack, injected)  # during the second
    loader.join(180)
    placed = holder["first"][0] + holder["second"][0]
    paid = holder["first"][1] + holder["second"][1]
    settle_and_count(stack, "redis restart", injected, placed, paid, last_fault=time.monotonic())


# Sized from measurements on the 2-core CI machine shared with other jobs: 300 orders did not
# settle within 2 minutes of the last fault there (0.8 orders/s released under that load),
# 200 do with margin; see the note in README ("Proof and security").
ORDERS = 200


@pytest.mark.timeout(900)  # setup, load, a 30 s outage and the 2-minute deadline
def test_combined_faults_under_a_few_hundred_orders_every_paid_order_ends_final(
    stack,
):
    """The combined scenario: a few hundred shoppers order and pay while the filing worker is
    killed mid-request, the authority is down for 30 s and both Redis servers restart; every
    paid order is final within 2 minutes of the last fault, with no manual step."""
    injected, holder = [], {}
    stack.sandbox.control(latency_ms=200)  # receipt steps take a moment, as they do
    started = time.monotonic()
    loader = threading.Thread(target=lambda: holder.update(done=stack.shoppers(ORDERS)))
    loader.start()
    kill_filing_worker_mid_request(stack, injected, "CEB621")
    take_sandbox_down_mid_request(stack, injected, seconds=30)
    restart_redis_holding_work(stack, injected)
    last_fault = time.monotonic()
    loader.join(600)
    placed, paid = holder["done"]
    injected.append(f"load of {ORDERS} orders took {time.monotonic() - started:.0f} s")
    settle_and_count(
        stack, "combined", injected, placed, paid, last_fault=last_fault, attempted=ORDERS
    )


def _blocked_backend(locker) -> int | None:
    row = locker.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return row[0] if row else None


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
