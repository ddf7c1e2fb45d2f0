"""Several nodes on one machine: two web nodes and two worker nodes, each in its own network
namespace (`ip netns`, one veth link to the host each), with beat in a fifth, against one
PostgreSQL and one Redis (broker) plus one Redis (cache). Each node's processes keep their own
per-process caches (config/refcache.py). A few hundred shoppers order and pay through a load
balancer in front of both web nodes; mid-run one web node and one worker node are SIGKILLed
(every process in the namespace, as a machine dying), each confirmed to have had a request in
flight. Then: no order lost or duplicated, every paid order final, the books reconcile; and a
reference-data change saved through one web node shows on the other within the cache TTL.

Traffic stays inside: a node reaches only the host's end of its own link, where a relay
(tests/proof/relay.py) forwards to PostgreSQL, the Redis servers and the customs sandbox
(which listen on loopback) and balances the web nodes. The shoppers' retries carry an
Idempotency-Key, as a real client's must: a placement whose answer died with its node is
answered again, never placed twice.

Run with `make proof-nodes` (root, iproute2, PostgreSQL and Redis; about 5 minutes); skipped
otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.proof.support import (
    BASE_DIR,
    FixedPortSandbox,
    PrivateRedis,
    csrf_of,
    free_port,
    process_env,
)
from tests.proof.test_faults import Stack, settle_and_count, shop
from tests.support import ManagedProcess, test_database_url, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("PROOF_NODES") != "1", reason="the several-node proof: make proof-nodes"
    ),
]
NET = "10.231"  # 10.231.0.1: the host (on loopback); 10.231.<i>.2: node i
HOST = f"{NET}.0.1"
NODES = ("web1", "web2", "work1", "work2", "beat")
ORDERS = int(os.environ.get("PROOF_NODES_ORDERS", "240"))
CACHE_TTL = 10  # REFERENCE_CACHE_SECONDS of every node


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Network:
    """The namespaces and their links; `down()` removes everything, also a crashed run's."""

    def __init__(self) -> None:
        self.index = {name: i for i, name in enumerate(NODES, start=1)}

    @staticmethod
    def ns(name: str) -> str:
        return f"bpn-{name}"

    def address(self, name: str) -> str:
        return f"{NET}.{self.index[name]}.2"

    def up(self) -> Network:
        self.down()
        # The host's address for every node (relays, the load balancer) sits on loopback (no
        # dummy interface module on every kernel): reached over each node's own link.
        ip("addr", "add", f"{HOST}/32", "dev", "lo")
        for name, i in self.index.items():
            ns, host_end, node_end = self.ns(name), f"bpn{i}h", f"bpn{i}n"
            ip("netns", "add", ns)
            ip("link", "add", host_end, "type", "veth", "peer", "name", node_end)
            ip("link", "set", node_end, "netns", ns)
            ip("addr", "add", f"{NET}.{i}.1/24", "dev", host_end)
            ip("link", "set", host_end, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{NET}.{i}.2/24", "dev", node_end)
            ip("-n", ns, "link", "set", node_end, "up")
            ip("-n", ns, "route", "add", "default", "via", f"{NET}.{i}.1")
        return self

    def pids(self, name: str) -> list[int]:
        out = ip("netns", "pids", self.ns(name), check=False).stdout
        return [int(p) for p in out.split()]

    def kill(self, name: str) -> int:
        """SIGKILL every process in the node's namespace at once: the machine is gone."""
        pids = self.pids(name)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def down(self) -> None:
        for name in NODES:
            if self.ns(name) in ip("netns", "list", check=False).stdout:
                self.kill(name)
                ip("netns", "del", self.ns(name), check=False)
        ip("addr", "del", f"{HOST}/32", "dev", "lo", check=False)


class NodeProcess(ManagedProcess):
    """A process started inside a node's namespace."""

    def __init__(self, name: str, ns: str, env: dict, cmd: list[str], ready: str) -> None:
        super().__init__()
        self.name, self.ns, self.env, self.cmd, self.ready = name, ns, env, cmd, ready

    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *self.cmd]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def on_line(self, line: str) -> bool:
        return self.ready in line


class Relay(ManagedProcess):
    name = "relay"

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = config

    def command(self) -> list[str]:
        return [sys.executable, str(BASE_DIR / "tests" / "proof" / "relay.py"),
                json.dumps(self.config)]  # fmt: skip

    def on_line(self, line: str) -> bool:
        return "relay ready" in line

    def stats(self) -> dict:
        return requests.get(f"http://{self.config['control']}/", timeout=5).json()


@dataclass
class Cluster:
    net: Network
    relay: Relay
    web_url: str
    processes: dict[str, list[NodeProcess]] = field(default_factory=dict)

    def output(self, name: str) -> str:
        return "".join(line for p in self.processes.get(name, []) for line in p.output[-30:])


def _requirements() -> str:
    if os.geteuid() != 0:
        return "the several-node proof creates network namespaces: run it as root"
    if not shutil.which("ip") or not shutil.which("redis-server"):
        return "needs iproute2 (ip) and redis-server"
    return ""


@pytest.fixture
def cluster(world, tmp_path, settings):
    from rest_framework.authtoken.models import Token

    if missing := _requirements():
        pytest.skip(missing)
    net = Network().up()
    redis, cache = PrivateRedis().start(), PrivateRedis().start()
    sandbox_port = free_port()
    ports = {name: free_port() for name in ("pg", "broker", "cache", "customs", "web", "ctl")}
    web_url = f"http://{HOST}:{ports['web']}"
    database = urlsplit(test_database_url())
    relay = Relay({
        "control": f"127.0.0.1:{ports['ctl']}",
        "listeners": [
            {"name": "postgres", "listen": f"{HOST}:{ports['pg']}",
             "upstreams": [f"{database.hostname}:{database.port or 5432}"]},
            {"name": "broker", "listen": f"{HOST}:{ports['broker']}",
             "upstreams": [f"127.0.0.1:{redis.port}"]},
            {"name": "cache", "listen": f"{HOST}:{ports['cache']}",
             "upstreams": [f"127.0.0.1:{cache.port}"]},
            {"name": "customs", "listen": f"{HOST}:{ports['customs']}",
             "upstreams": [f"127.0.0.1:{sandbox_port}"]},
            {"name": "web", "listen": f"{HOST}:{ports['web']}",
             "upstreams": [f"{net.address('web1')}:8000", f"{net.address('web2')}:8000"]},
        ],
    }).start()  # fmt: skip
    env = process_env(
        broker=f"redis://{HOST}:{ports['broker']}/0", cache=f"redis://{HOST}:{ports['cache']}/0",
        sandbox_base=f"http://{HOST}:{ports['customs']}", web_url=web_url,
        secrets={"PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
                 "CUSTOMS_GATEWAY_SECRET": settings.CUSTOMS_GATEWAY_SECRET,
                 "DELIVERY_DOCK_CODE": "CW-DOCK"},
    )  # fmt: skip
    env |= {
        "DATABASE_URL": urlunsplit(
            database._replace(netloc=f"{database.username}@{HOST}:{ports['pg']}")
        ),
        "ALLOWED_HOSTS": ",".join([HOST, "127.0.0.1", *(net.address(n) for n in NODES)]),
        "REFERENCE_CACHE_SECONDS": str(CACHE_TTL),
    }  # fmt: skip
    sandbox = FixedPortSandbox(
        tmp_path / "authority.sqlite3", port=sandbox_port,
        callback_url=f"{web_url}/api/v1/customs/receipts",
    ).start()  # fmt: skip
    built = Cluster(net, relay, web_url)
    python = sys.executable

    def start(node: str, label: str, cmd: list[str], ready: str) -> None:
        process = NodeProcess(f"{node}:{label}", net.ns(node), env, cmd, ready).start(timeout=120)
        built.processes.setdefault(node, []).append(process)

    try:
        for node in ("web1", "web2"):
            start(node, "gunicorn", [python, "-m", "gunicorn", "config.wsgi", "--workers", "2",
                                     "--threads", "4", "--bind", "0.0.0.0:8000", "--timeout",
                                     "60", "--log-level", "info"], "Booting worker")  # fmt: skip
        for node in ("work1", "work2"):
            start(node, "celery", [python, "-m", "celery", "-A", "config", "worker",
                                   "--loglevel=INFO", "--concurrency=3", "--without-gossip",
                                   "--without-mingle", "--without-heartbeat", "-Q",
                                   "customs_filing,customs_receipts,default",
                                   "-n", f"{node}@%h"], " ready.")  # fmt: skip
        beat = [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "-s", str(tmp_path / "beat-schedule")]  # fmt: skip
        start("beat", "beat", beat, "beat: Starting")
        shapes, shoppers = shop(world)
        tokens = [Token.objects.create(user=s.user).key for s in shoppers]
        # The fault proof's load and counting (tests/proof/test_faults.py), pointed at the
        # load balancer; each node process's output is saved with the scenario's logs.
        stack = Stack(tmp_path, env, redis, cache, sandbox,
                      SimpleNamespace(url=web_url, stop=lambda: None, output=[]),
                      SimpleNamespace(stop=lambda: None, output=[]), tokens, shapes)  # fmt: skip
        stack.workers = {p.name.replace(":", "-"): p for g in built.processes.values() for p in g}
        built.stack = stack
        yield built
    finally:
        for name in NODES:
            net.kill(name)
        for group in built.processes.values():
            for process in group:
                with contextlib.suppress(Exception):
                    process.proc.wait(10)
        sandbox.stop()
        relay.stop()
        redis.stop()
        cache.stop()
        net.down()


def _admin_session(cluster: Cluster, node: str, world) -> requests.Session:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("nodes-admin", "a@example.com", "nodes-pass-2026")
    base = f"http://{cluster.net.address(node)}:8000"
    session = requests.Session()
    login = session.get(f"{base}/admin/login/", timeout=10)
    answer = session.post(
        f"{base}/admin/login/?next=/admin/", timeout=10,
        data={"username": "nodes-admin", "password": "nodes-pass-2026",
              "csrfmiddlewaretoken": csrf_of(login.text), "next": "/admin/"},
    )  # fmt: skip
    assert "logout" in answer.text.lower(), answer.text[:500]
    return session


def reference_change_reaches_the_other_node(cluster: Cluster, world) -> str:
    """Save a counter's opening hours through web1's admin; read the product page on web2
    (which rendered the old hours, its own per-process caches warm) until it shows them."""
    import lxml.html

    from bonded.models import Location

    counter = Location.objects.get(code="C-ZZ1")
    product = f"/products/{world.paste.pk}/"
    web2 = f"http://{cluster.net.address('web2')}:8000"
    old = counter.opening_hours or ""
    for _ in range(8):  # both gunicorn workers of web2 render (and cache) the old hours
        assert requests.get(web2 + product, timeout=10).status_code == 200
    new = f"09:00-21:30 proof {int(time.time()) % 10000}"
    admin = _admin_session(cluster, "web1", world)
    base = f"http://{cluster.net.address('web1')}:8000"
    form_page = admin.get(f"{base}/admin/bonded/location/{counter.pk}/change/", timeout=10)
    form = lxml.html.fromstring(form_page.text).get_element_by_id("location_form")
    values = [(k, v) for k, v in form.form_values() if k != "opening_hours"]
    values += [("opening_hours", new), ("_save", "Save")]
    saved = admin.post(form_page.url, data=values, timeout=10, allow_redirects=False)
    if saved.status_code != 302:
        errors = lxml.html.fromstring(saved.text).xpath(
            "//ul[contains(@class,'errorlist')]/li//text() | //p[@class='errornote']//text()"
        )
        pytest.fail(f"the admin refused the change: {errors} (sent {values})")
    changed_at = time.monotonic()
    stale_seen = 0

    def shows_new() -> bool:
        nonlocal stale_seen
        page = requests.get(web2 + product, timeout=10).text
        if new in page:
            return True
        stale_seen += 1
        return False

    wait_until(shows_new, timeout=CACHE_TTL + 10, interval=0.25)
    took = time.monotonic() - changed_at
    assert took <= CACHE_TTL + 3, f"web2 showed the change after {took:.1f} s"
    return (f"counter opening hours saved through web1's admin ({old!r} -> {new!r}) showed on "
            f"web2 after {took:.1f} s (cache TTL {CACHE_TTL} s; web2 answered the old hours "
            f"{stale_seen} time(s) first)")  # fmt: skip


def kill_web_node_mid_request(cluster: Cluster, injected: list[str]) -> None:
    address = f"{cluster.net.address('web1')}:8000"

    def in_flight():
        counts = cluster.relay.stats()["web"]["by_upstream"].get(address, {})
        return counts.get("awaiting", 0) and counts

    counts = wait_until(in_flight, timeout=120, interval=0.02)
    killed = cluster.net.kill("web1")
    injected.append(f"SIGKILL web node web1 ({killed} processes) with {counts['awaiting']} "
                    f"request(s) in flight through the load balancer")  # fmt: skip


def kill_worker_node_mid_request(cluster: Cluster, injected: list[str]) -> str:
    """Hold the next customs request at the authority; the worker node whose connection waits
    the longest for its answer is the one holding it: SIGKILL that node."""
    sandbox = cluster.stack.sandbox
    before = sandbox.watch()["abandoned"]
    sandbox.control(hold_next=1, hold_seconds=120, hold_types=[])
    held = wait_until(
        lambda: next((r for r in sandbox.watch()["in_flight"] if r["held"]), None),
        timeout=180, interval=0.05,
    )  # fmt: skip
    time.sleep(0.5)  # the held connection is now the oldest unanswered one by far
    clients = cluster.relay.stats()["customs"]["by_client"]
    workers = {cluster.net.address(n): n for n in ("work1", "work2")}
    waiting = {a: c for a, c in clients.items() if a in workers and c["awaiting"]}
    address = max(waiting, key=lambda a: waiting[a]["oldest_awaiting_s"])
    node = workers[address]
    killed = cluster.net.kill(node)
    wait_until(lambda: sandbox.watch()["abandoned"] > before, timeout=30, interval=0.05)
    sandbox.control(hold_next=0, hold_seconds=0)
    injected.append(f"SIGKILL worker node {node} ({killed} processes) while the authority held "
                    f"its {held['kind']} for {len(held['order_nos'])} order(s) (answer never "
                    f"read)")  # fmt: skip
    return node


@pytest.mark.timeout(1500)  # ~5 minutes on an idle 2-core machine; far more beside other work
def test_two_web_and_two_worker_nodes_one_of_each_killed_mid_run(cluster, world):
    from marketplace.models import Order

    injected = [reference_change_reaches_the_other_node(cluster, world)]
    stack = cluster.stack
    holder: dict = {}
    started = time.monotonic()
    loader = threading.Thread(target=lambda: holder.update(done=stack.shoppers(ORDERS)))
    loader.start()
    wait_until(lambda: Order.objects.count() >= ORDERS // 5, timeout=300, interval=0.5)
    kill_web_node_mid_request(cluster, injected)
    wait_until(lambda: Order.objects.count() >= ORDERS // 2, timeout=300, interval=0.5)
    killed = kill_worker_node_mid_request(cluster, injected)
    loader.join(900)
    assert not loader.is_alive(), "the load did not finish"
    # The deadline counts from the end of the load: after the kills, one web node and one
    # worker node carry the rest of it.
    last_fault = time.monotonic()
    placed, paid = holder["done"]
    web = cluster.relay.stats()["web"]
    injected.append(
        f"load of {ORDERS} orders took {time.monotonic() - started:.0f} s; load "
        f"balancer connections per web node {web['total']}, refused {web['refused']}"
    )
    try:
        counted = settle_and_count(stack, "nodes", injected, placed, paid, last_fault=last_fault,
                                   attempted=ORDERS)  # fmt: skip
    except AssertionError:
        for node in ("web2", "work1" if killed == "work2" else "work2", "beat"):
            print(f"--- {node} (last lines)\n{cluster.output(node)}")
        raise
    assert counted["lost"] == 0
    numbers = Order.objects.values_list("number", flat=True)
    assert len(numbers) == len(set(numbers)) == ORDERS, "an order placed twice or lost"
