"""In-process order placement, one process: Bondport's `order_place` against django-oscar's
`OrderCreator.place_order` with stock allocation, on the same PostgreSQL, one after the other.

Bondport: one pickup order of one line (tax, annual quota, reservation in the bonded ledger,
order + lines + event, customs pre-check, order and waybill declarations), one transaction,
on the pipeline bench's seeded database (run.py seeds it; run it first or pass --seed).
Oscar: django-oscar installed by this script into its own virtualenv (var/bench-oscar-venv,
never vendored), a minimal project generated under var/bench-oscar/ on its own database
(bondport_bench_oscar); each order: a basket with one line (prepared outside the timed part),
shipping and total calculated, then `OrderCreator().place_order()` (order, lines, prices,
stock allocation on the stock record), all inside the timed part.

  python bench/pipeline/inprocess.py [--seconds 10] [--pairs 3]

Interleaved (issue #19): A B A B for `--pairs` pairs, the ratio per pair and its median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.pipeline.report import pct
from bench.pipeline.stack import BASE, PG, Layout, environment

OSCAR_VENV = BASE / "var" / "bench-oscar-venv"
OSCAR_DIR = BASE / "var" / "bench-oscar"
OSCAR_DB = os.environ.get("BENCH_OSCAR_DB", "bondport_bench_oscar")
OSCAR_PINS = ["django-oscar==4.2.1", "Django==5.2.19", "psycopg[binary]==3.3.9"]

SETTINGS = """
from oscar.defaults import *  # noqa: F403
from oscar import INSTALLED_APPS as OSCAR_APPS

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = OSCAR_APPS
SITE_ID = 1
ROOT_URLCONF = "benchshop.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql", "NAME": "{db}", "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60,
    "OPTIONS": {{"server_side_binding": True}},
}}}}
HAYSTACK_CONNECTIONS = {{"default": {{"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}}}
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {{"context_processors": ["django.template.context_processors.request"]}}}}]
MIDDLEWARE = []
"""

PLACE = """
import json, os, sys, time
from decimal import Decimal as D
os.environ["DJANGO_SETTINGS_MODULE"] = "benchshop.settings"
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from oscar.apps.basket.models import Basket
from oscar.apps.checkout.calculators import OrderTotalCalculator
from oscar.apps.order.utils import OrderCreator
from oscar.apps.partner.strategy import Default
from oscar.apps.shipping.methods import Free
from oscar.apps.partner.models import StockRecord
from oscar.test.factories import create_product, create_stockrecord

seconds = float(sys.argv[1])
product = create_product(title="Bench toothpaste", num_in_stock=None)
record = create_stockrecord(product, num_in_stock=10_000_000, price=D("39.90"))
user = (get_user_model().objects.filter(username="bench").first()
        or get_user_model().objects.create_user("bench", "bench@example.com", "x"))

def basket():
    b = Basket.objects.create(owner=user)
    b.strategy = Default()
    b.add_product(product, 1)
    return b

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext


def place(b, number):
    # As oscar's checkout does before placing (check_basket_is_valid), and Bondport's
    # placement does in its transaction: the availability check, inside the timed
    # transaction with the order (fair: Bondport's stock check is in its own).
    with transaction.atomic():
        for line in b.all_lines():
            ok, reason = line.purchase_info.availability.is_purchase_permitted(line.quantity)
            assert ok, reason
        method = Free()
        charge = method.calculate(b)
        total = OrderTotalCalculator().calculate(b, charge)
        OrderCreator().place_order(basket=b, total=total, shipping_method=method,
                                   shipping_charge=charge, user=user, order_number=number)


b = basket()
with CaptureQueriesContext(connection) as sample:
    place(b, f"S{time.time_ns()}")
b.set_as_submitted()
times = []
n = 1
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    b = basket()
    t = time.perf_counter()
    place(b, f"B{time.time_ns()}")
    times.append(time.perf_counter() - t)
    b.set_as_submitted()
    n += 1
record.refresh_from_db()
assert record.num_allocated == n, (record.num_allocated, n)
print(json.dumps({"orders": n, "times": times, "allocated": record.num_allocated,
                  "queries": len(sample.captured_queries)}))
"""


def oscar_env() -> Path:
    py = OSCAR_VENV / "bin" / "python"
    stamp = OSCAR_VENV / ".stamp"
    if not stamp.exists() or stamp.read_text() != " ".join(OSCAR_PINS):
        subprocess.run([sys.executable, "-m", "venv", str(OSCAR_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *OSCAR_PINS], check=True)
        stamp.write_text(" ".join(OSCAR_PINS))
    (OSCAR_DIR / "benchshop").mkdir(parents=True, exist_ok=True)
    (OSCAR_DIR / "benchshop" / "__init__.py").write_text("")
    (OSCAR_DIR / "benchshop" / "settings.py").write_text(SETTINGS.format(db=OSCAR_DB))
    (OSCAR_DIR / "benchshop" / "urls.py").write_text("urlpatterns = []\n")
    (OSCAR_DIR / "place.py").write_text(textwrap.dedent(PLACE))
    return py


def fresh_db(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def oscar_prepare() -> Path:
    py = oscar_env()
    fresh_db(OSCAR_DB)
    return py


def oscar(seconds: float, py: Path | None = None) -> dict:
    py = py or oscar_prepare()
    out = subprocess.run(
        [str(py), "place.py", str(seconds)],
        cwd=OSCAR_DIR,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(OSCAR_DIR)},
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return _figures(
        data["times"],
        extra={"version": "django-oscar 4.2.1", "sql_queries_per_order": data["queries"]},
    )


def _figures(times: list[float], extra: dict) -> dict:
    busy = sum(times)
    return {
        "orders": len(times),
        "orders_per_s": round(len(times) / busy, 1),
        "p50_ms": round(1000 * pct(times, 50), 2),
        "p99_ms": round(1000 * pct(times, 99), 2),
        **extra,
    }


_bondport_cold: int | None = None


def _django_env() -> None:
    os.environ.update(environment(Layout()))
    if os.environ.get("BENCH_INPROCESS_REDIS_DBS"):  # broker, cache: not the pipeline's 6, 7
        broker, cache = os.environ["BENCH_INPROCESS_REDIS_DBS"].split(",")
        redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
        os.environ["CELERY_BROKER_URL"], os.environ["CACHE_URL"] = (
            f"{redis}/{broker}",
            f"{redis}/{cache}",
        )


def seed_database(shoppers: int = 50) -> None:
    """--seed: the pipeline bench's database made here (fresh, migrated, seeded) without the
    pipeline run: zone, catalog, stock, shoppers."""
    from bench.pipeline import run

    _django_env()
    run.fresh_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE,
        env=os.environ,
        check=True,
    )
    import django

    django.setup()
    run.seed(shoppers=shoppers, kiosks_per_counter=1)


def bondport(seconds: float) -> dict:
    """On the pipeline bench's database (seeded shoppers, stock and listings)."""
    _django_env()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.pipeline.run import QUARANTINE_FREE
    from marketplace.models import Shopper
    from marketplace.selectors.catalog import visible_listings
    from marketplace.services.checkout import CartLine, PickupDelivery, order_place

    listing = visible_listings().filter(item__hs_code__in=QUARANTINE_FREE).order_by("price").first()
    shoppers = list(  # as the API reads them (shopper_for_user joins the user)
        Shopper.objects.select_related("user")
        .filter(user__username__startswith="bench")
        .order_by("pk")
    )
    delivery = PickupDelivery(counter_code="C-ZZ1")

    def place(shopper) -> None:
        order_place(
            shopper=shopper,
            lines=[CartLine(listing.pk, 1)],
            delivery=delivery,
            channel="bench",
            actor="bench",
        )

    global _bondport_cold
    if _bondport_cold is None:
        with CaptureQueriesContext(connection) as cold:  # reference rows not cached yet
            place(shoppers[0])
        _bondport_cold = len(cold.captured_queries)
    # After the other side's window the reference cache's entries (REFERENCE_CACHE_SECONDS)
    # may have expired: one order re-reads them, the next is counted, as every later order.
    place(shoppers[1])
    with CaptureQueriesContext(connection) as sample:
        place(shoppers[2])
    times, n = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shopper = shoppers[n % len(shoppers)]
        t = time.perf_counter()
        place(shopper)
        times.append(time.perf_counter() - t)
        n += 1
    return _figures(
        times,
        extra={
            "sql_queries_per_order": len(sample.captured_queries),
            "sql_queries_first_order": _bondport_cold,
            "reference_cache_seconds": settings.REFERENCE_CACHE_SECONDS,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10, help="per side and pair")
    parser.add_argument("--pairs", type=int, default=3, help="A B pairs, interleaved")
    parser.add_argument("--save", action="store_true", help="merge into pipeline.json")
    parser.add_argument("--seed", action="store_true", help="make the database first")
    args = parser.parse_args()
    if args.seed:
        seed_database()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    py = oscar_prepare()
    pairs = []
    for n in range(args.pairs):  # A B A B ...: drift of the shared machine hits both sides
        before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        ours = bondport(args.seconds)
        theirs = oscar(args.seconds, py)
        ratio = round(ours["orders_per_s"] / theirs["orders_per_s"], 2)
        pairs.append({"bondport": ours, "oscar": theirs, "ratio": ratio, "load": before})
        print(
            f"pair {n + 1} (load {before}): Bondport {ours['orders_per_s']}/s"
            f" p50 {ours['p50_ms']} ms ({ours['sql_queries_per_order']} SQL),"
            f" oscar {theirs['orders_per_s']}/s p50 {theirs['p50_ms']} ms"
            f" ({theirs['sql_queries_per_order']} SQL): ratio {ratio}",
            flush=True,
        )
    ratio = statistics.median(p["ratio"] for p in pairs)
    result = {
        "pairs": pairs,
        "ratio": ratio,
        "ratio_per_pair": [p["ratio"] for p in pairs],
        "bondport": pairs[-1]["bondport"],
        "oscar": pairs[-1]["oscar"],
        "load_average_start": load,
        "load_average_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds_each": args.seconds,
        "database": "PostgreSQL, synchronous_commit=on, one process, interleaved A B A B",
        "fairness": (
            "both in one transaction per order with their stock check inside the clock: "
            "oscar's availability check (is_purchase_permitted per basket line, as its "
            "checkout does) + shipping + totals + OrderCreator.place_order with stock "
            "allocation; its basket is built outside the clock. Bondport's order_place: tax, "
            "quota, ledger reservation, order, customs pre-check and two declarations."
        ),
    }
    print(f"median ratio Bondport / oscar {ratio} (per pair {result['ratio_per_pair']})")
    if args.save:
        from bench.pipeline.run import save

        save({"inprocess_placement": result})


if __name__ == "__main__":
    main()
