"""Customs pipeline benchmark (not a test): real sandbox, web, and worker processes.

1. Latency: payment declaration created (committed) -> order released and goods moved to the
   counter, with the sandbox answering at once (latency 0) and pushing signed receipts to the
   web process, a Celery worker applying them and filing the inventory list. p50 / p99.
2. Throughput: declarations filed per second by `declarations_file()` against the sandbox,
   batched (CUSTOMS_BATCH_SIZE=50) and unbatched (1), no worker running.

Writes bench/results/customs.json. Run: `.venv/bin/python bench/customs.py [--orders N]`.
Uses its own SQLite file and broker folder under var/bench-customs/ (deleted on start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
VAR = BASE / "var" / "bench-customs"
RESULTS = BASE / "bench" / "results" / "customs.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(broker: str) -> dict:
    shutil.rmtree(VAR, ignore_errors=True)
    (VAR / "broker").mkdir(parents=True)
    sandbox_port, web_port = free_port(), free_port()
    env = {
        "DATABASE_URL": f"sqlite:///{VAR / 'db.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "CELERY_FS_BROKER_DIR": str(VAR / "broker"),
        "CACHE_URL": "locmemcache://",
        "CUSTOMS_GATEWAY_SECRET": "bench-only-customs-secret",
        "CUSTOMS_GATEWAY_URL": f"http://127.0.0.1:{sandbox_port}/customs",
        "CUSTOMS_CIQ_URL": f"http://127.0.0.1:{sandbox_port}/ciq",
        "CUSTOMS_SANDBOX_CALLBACK_URL": f"http://127.0.0.1:{web_port}/api/v1/customs/receipts",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return {"env": env, "sandbox_port": sandbox_port, "web_port": web_port}


def start(cmd: list[str], ready: str, log: Path) -> subprocess.Popen:
    out = log.open("w")
    proc = subprocess.Popen(cmd, cwd=BASE, env=os.environ.copy(), stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if ready in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{cmd[:4]} did not start; see {log}")


def order_for(n: int, items: list, counter: str):
    from django.utils import timezone

    from customs.filings import OrderFiling, OrderLineFiling
    from customs.tax import order_tax

    item = items[n % len(items)]
    price = Decimal("100.00")
    line = OrderLineFiling(
        gnum=1, item_no=item.item_no, item_name=item.name_zh, bar_code=item.barcode,
        unit=item.unit, qty=1, price=price, total_price=price, country=item.origin_country,
        hs_code=item.hs_code,
    )  # fmt: skip
    freight = Decimal("0.00")
    tax = order_tax(lines=[{"total_price": price, "qty": 1}], freight=freight)
    return OrderFiling(
        order_no=f"BENCH{os.getpid()}{n:06d}", ebp_code="4101260001", ebc_code=item.owner_code,
        pay_code="4101990001", logistics_code="4101980001", goods_value=price, freight=freight,
        discount=Decimal("0.00"), tax_total=tax, actural_paid=price + freight + tax,
        buyer_reg_no="bench", buyer_name="张三", buyer_id_number="440524188001010014",
        buyer_telephone="13800000000", consignee="张三", consignee_telephone="13800000000",
        consignee_address="郑州保税物流中心体验店", lines=(line,), delivery_mode="pickup",
        destination_code=counter, ordered_at=timezone.now(),
    )  # fmt: skip


def file_order(order) -> None:
    from django.db import transaction

    from bonded.services import StockLine, stock_reserve
    from customs import services
    from customs.filings import WaybillFiling

    with transaction.atomic():
        stock_reserve(reference=order.order_no, location_code="ZZ-A",
                      lines=[StockLine(x.item_no, x.qty, x.gnum) for x in order.lines])  # fmt: skip
        services.declarations_create_for_order(
            order=order,
            waybill=WaybillFiling(
                logistics_code=order.logistics_code, logistics_no=f"ZY{order.order_no}",
                freight=order.freight, weight=Decimal("1.0"), consignee=order.consignee,
                consignee_address=order.consignee_address,
                consignee_telephone=order.consignee_telephone,
            ),
        )  # fmt: skip


def pay(order) -> None:
    from django.db import transaction
    from django.utils import timezone

    from customs import services
    from customs.filings import PaymentFiling

    with transaction.atomic():
        services.declaration_create_payment(
            payment=PaymentFiling(
                order_no=order.order_no, ebp_code=order.ebp_code, pay_code=order.pay_code,
                pay_transaction_id=f"P{order.order_no}", payer_name=order.buyer_name,
                payer_id_number=order.buyer_id_number, payer_telephone=order.buyer_telephone,
                amount_paid=order.actural_paid, paid_at=timezone.now(),
            )
        )  # fmt: skip


def wait(predicate, timeout: float = 60, interval: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise TimeoutError


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=40, help="orders for the latency run")
    parser.add_argument("--filing", type=int, default=300, help="orders for the filing run")
    parser.add_argument(
        "--broker", default="filesystem://", help="e.g. redis://127.0.0.1:6379/2 (push, no polling)"
    )
    args = parser.parse_args()
    ports = configure(args.broker)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bonded.models import GoodsItem
    from customs.models import Declaration, OrderClearance
    from customs.services.filing import declarations_due, declarations_file
    from demo import seed

    for name, step in seed.STEPS:
        if name != "staff":
            step()
    quarantine_free = {"3306101000", "3304100000", "3401300000", "9619001100", "6403990000"}
    items = list(GoodsItem.objects.filter(hs_code__in=quarantine_free).order_by("item_no")[:20])
    py = sys.executable
    procs = []
    try:
        procs.append(start([py, "manage.py", "run_customs_sandbox", "--port",
                            str(ports["sandbox_port"]), "--db", str(VAR / "sandbox.sqlite3"),
                            "--latency-ms", "0"], "listening on", VAR / "sandbox.log"))  # fmt: skip
        procs.append(start([py, "manage.py", "runserver", f"127.0.0.1:{ports['web_port']}",
                            "--noreload"], "Quit the server", VAR / "web.log"))  # fmt: skip
        worker = start([py, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
                        "--without-gossip", "--without-mingle", "--without-heartbeat",
                        "-Q", "customs_filing,customs_receipts", "--loglevel=INFO"],
                       " ready.", VAR / "worker.log")  # fmt: skip
        procs.append(worker)

        latencies = []
        for n in range(args.orders):
            order = order_for(n, items, "C-ZZ1")
            file_order(order)
            wait(
                lambda o=order: (
                    Declaration.objects.filter(
                        order_no=o.order_no, kind__in=["order", "waybill"], state="accepted"
                    ).count()
                    == 2
                )
            )
            started = time.perf_counter()
            pay(order)
            wait(lambda o=order: OrderClearance.objects.filter(
                order_no=o.order_no, goods_released_at__isnull=False).exists())  # fmt: skip
            latencies.append(time.perf_counter() - started)
        worker.terminate()
        worker.wait(30)

        filing = {}
        for batch_size in (50, 1):
            settings.CUSTOMS_BATCH_SIZE = batch_size
            for n in range(args.filing):
                file_order(order_for(100000 * batch_size + n, items, "C-ZZ1"))
            due = declarations_due().count()
            started = time.perf_counter()
            while declarations_due().exists():
                declarations_file(max_batches=1000)
            elapsed = time.perf_counter() - started
            filing[f"batch_{batch_size}"] = {
                "declarations": due,
                "seconds": round(elapsed, 3),
                "per_second": round(due / elapsed, 1),
            }
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)

    run = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "database": "SQLite (WAL, IMMEDIATE)",
        "broker": args.broker.split("://")[0],
        "sandbox_latency_ms": 0,
        "payment_to_released_seconds": {
            "orders": len(latencies),
            "p50": round(statistics.median(latencies), 3),
            "p99": round(pct(latencies, 99), 3),
            "max": round(max(latencies), 3),
        },
        "filing": filing,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result[f"broker_{run['broker']}"] = run
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(run, indent=2))


if __name__ == "__main__":
    main()
