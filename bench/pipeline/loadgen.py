"""The load generator: virtual shoppers over real HTTP, in its own process (asyncio + httpx).

Journey of one order (what a shopper and the counter kiosk do):
  POST /api/v1/orders/place/ (counter pickup) -> POST /api/v1/orders/<no>/payment/ ->
  GET + POST the sandbox pay page (the provider then notifies us from a Celery task) ->
  GET /api/v1/orders/<no>/status/ (If-None-Match, 304) as often as the server says
  (X-Poll-After-Ms) until released (customs + CIQ); its answer carries the pickup code ->
  kiosk POST pickups/lookup, POST pickups/handover.

Modes:
  closed   N virtual shoppers, each starts its next order when the last one is handed over
  rate     a new journey every 1/R seconds whatever happens (open loop), at most --cap at once
  storefront  N users alternating the product list and product pages (no orders)

Writes one JSON line per journey (or per page view) to --out; the bench computes the report.
Run: python bench/pipeline/loadgen.py --plan plan.json --mode closed --users 40 ...
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import time
from pathlib import Path

import httpx

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FINAL = {"released", "delivered", "rejected", "cancelled", "expired", "returned", "held"}


class JourneyError(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _kind(stage: str, response: httpx.Response) -> str:
    try:
        code = response.json().get("code", "")
    except (ValueError, AttributeError):
        code = ""
    return f"{stage}:{response.status_code}{':' + code if code else ''}"


class Plan:
    """Who shops and what: tokens, kiosk keys per counter, listings with their barcodes."""

    def __init__(self, path: str) -> None:
        data = json.loads(Path(path).read_text())
        self.base = data["base_url"]
        self.shoppers = data["shoppers"]  # [{"token", "last6"}]
        self.kiosks = data["kiosks"]  # {"C-ZZ1": [key, ...]}
        self.listings = data["listings"]  # [{"id", "barcode"}]
        self.products = data.get("products", [])  # listing ids for the storefront
        self._next = itertools.count()

    def shopper(self) -> dict:
        return self.shoppers[next(self._next) % len(self.shoppers)]


async def journey(client: httpx.AsyncClient, plan: Plan, args, rec: dict) -> None:
    shopper = plan.shopper()
    auth = {"Authorization": f"Token {shopper['token']}"}
    counter = random.choice(list(plan.kiosks))
    listing = random.choice(plan.listings)
    body = {
        "delivery": {"mode": "pickup", "counter_code": counter},
        "lines": [{"listing_id": listing["id"], "quantity": 1}],
    }
    t = time.time()
    r = await client.post("/api/v1/orders/place/", json=body, headers=auth)
    rec["place_s"] = time.time() - t
    if r.status_code != 201:
        raise JourneyError(_kind("place", r))
    number = r.json()[0]["number"]
    rec["order_no"] = number
    t = time.time()
    for _attempt in range(5):  # shed (503 + Retry-After): the order stands, ask again later
        r = await client.post(f"/api/v1/orders/{number}/payment/", headers=auth)
        if r.status_code != 503:
            break
        rec["payment_503"] = rec.get("payment_503", 0) + 1
        await asyncio.sleep(_server_wait(r, 1.0))
    if r.status_code != 201:
        raise JourneyError(_kind("payment", r))
    pay_url = httpx.URL(r.json()["pay_url"]).path
    page = await client.get(pay_url)
    match = CSRF.search(page.text)
    if page.status_code != 200 or not match:
        raise JourneyError(f"pay_page:{page.status_code}")
    r = await client.post(
        pay_url,
        data={"csrfmiddlewaretoken": match.group(1)},
        headers={"Referer": str(client.base_url.join(pay_url))},
    )
    if r.status_code != 200:
        raise JourneyError(f"pay:{r.status_code}")
    rec["pay_s"] = time.time() - t
    rec["t_paid"] = time.time()
    order = await wait_for_release(client, args, number, auth, rec)
    rec["t_released_seen"] = time.time()
    for key in ("placed_at", "paid_at", "released_at"):
        rec[key] = order[key]
    if order["state"] != "released":
        raise JourneyError(f"final:{order['state']}")
    code = order.get("pickup_code")
    if not code:  # the old commit's detail answer has no code: one more call
        r = await client.get(f"/api/v1/orders/{number}/pickup-code/", headers=auth)
        if r.status_code != 200:
            raise JourneyError(_kind("pickup_code", r))
        code = r.json()["code"]
    kiosk = {"Authorization": f"Kiosk {random.choice(plan.kiosks[counter])}"}
    r = await client.post("/api/v1/kiosk/pickups/lookup", json={"code": code}, headers=kiosk)
    if r.status_code != 200:
        raise JourneyError(_kind("lookup", r))
    barcodes = [x["barcode"] for x in r.json()["items"] for _ in range(x["quantity"])]
    r = await client.post(
        "/api/v1/kiosk/pickups/handover",
        json={"code": code, "id_last6": shopper["last6"], "barcodes": barcodes},
        headers=kiosk,
    )
    if r.status_code != 200:
        raise JourneyError(_kind("handover", r))
    rec["delivered_at"] = r.json()["handed_over_at"]


def _server_wait(response: httpx.Response, default: float) -> float:
    """When the server says to ask again: X-Poll-After-Ms, else Retry-After, else default."""
    ms = response.headers.get("X-Poll-After-Ms")
    if ms and ms.isdigit():
        return int(ms) / 1000
    retry = response.headers.get("Retry-After", "")
    return float(retry) if retry.isdigit() else default


async def wait_for_release(client, args, number: str, auth: dict, rec: dict) -> dict:
    """Poll the order until a final state, as the shopper's app does: the cheap status call
    (GET /api/v1/orders/<no>/status/) with the last ETag (304 while nothing changed), waiting
    as long as the server says (X-Poll-After-Ms; `--poll` before the first answer and with
    `--fixed-poll`). Against a commit without that call (404 not_found) it polls the order's
    detail every `--poll` seconds, as shoppers did before."""
    deadline = time.time() + args.release_timeout
    url = f"/api/v1/orders/{number}/status/"
    legacy = args.legacy_poll
    etag, wait, order = None, args.poll, None
    rec["polls"] = rec["polls_304"] = 0
    while True:
        await asyncio.sleep(wait)
        if legacy:
            r = await client.get(f"/api/v1/orders/{number}/", headers=auth)
        else:
            headers = {**auth, "If-None-Match": etag} if etag else auth
            r = await client.get(url, headers=headers)
        rec["polls"] += 1
        if r.status_code == 404 and not legacy and _kind("poll", r) == "poll:404:not_found":
            legacy, wait = True, 0.0
            continue
        if not legacy and not args.fixed_poll:
            wait = _server_wait(r, args.poll)
        if r.status_code == 304:
            rec["polls_304"] += 1
        elif r.status_code == 503:
            rec["polls_503"] = rec.get("polls_503", 0) + 1
        elif r.status_code != 200:
            raise JourneyError(_kind("poll", r))
        else:
            etag = r.headers.get("ETag")
            order = r.json()
            if order["state"] in FINAL:
                return order
        if time.time() > deadline:
            raise JourneyError(f"release_timeout:{order['state'] if order else 'unknown'}")


async def run_one(client, plan, args, out) -> None:
    rec: dict = {"t_start": time.time(), "error": None}
    try:
        await journey(client, plan, args, rec)
    except JourneyError as exc:
        rec["error"] = exc.kind
    except httpx.HTTPError as exc:
        rec["error"] = f"http:{exc.__class__.__name__}"
    rec["t_done"] = time.time()
    out.write(json.dumps(rec) + "\n")


_SSL = None


def _client(plan: Plan, args) -> httpx.AsyncClient:
    global _SSL
    if _SSL is None:  # one context for every client: building one costs ~10 ms of CPU
        import ssl

        _SSL = ssl.create_default_context()
    return httpx.AsyncClient(
        base_url=plan.base,
        verify=_SSL,
        timeout=args.http_timeout,
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
        headers={"Accept-Language": "en"},
    )


async def closed(plan: Plan, args, out) -> None:
    stop = time.time() + args.seconds

    async def user(n: int) -> None:
        await asyncio.sleep(n * args.ramp / max(args.users, 1))  # spread the first orders
        async with _client(plan, args) as client:
            while time.time() < stop:
                await run_one(client, plan, args, out)

    await asyncio.gather(*(user(n) for n in range(args.users)))


async def rate(plan: Plan, args, out) -> None:
    idle: list[httpx.AsyncClient] = []
    made = 0
    tasks = set()
    started = time.time()

    async def one(client) -> None:
        try:
            await run_one(client, plan, args, out)
        finally:
            idle.append(client)

    for n in itertools.count():
        due = started + n / args.rate
        if due > started + args.seconds:
            break
        await asyncio.sleep(max(0.0, due - time.time()))
        if not idle and made >= args.cap:  # that many journeys in flight: the system fell behind
            now = time.time()
            out.write(json.dumps({"t_start": now, "t_done": now, "error": "cap_reached"}) + "\n")
            continue
        if not idle:
            idle.append(_client(plan, args))
            made += 1
        task = asyncio.create_task(one(idle.pop()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    for client in idle:
        await client.aclose()


async def storefront(plan: Plan, args, out) -> None:
    stop = time.time() + args.seconds
    pages = ["/products/", "/products/?sort=price", "/products/?page=2", "/"]

    async def user(n: int) -> None:
        async with _client(plan, args) as client:
            for i in itertools.count(n):
                if time.time() >= stop:
                    return
                if i % 2:
                    kind, url = "product", f"/products/{random.choice(plan.products)}/"
                else:
                    kind, url = "list", random.choice(pages)
                t = time.time()
                try:
                    r = await client.get(url)
                    error = None if r.status_code == 200 else f"{kind}:{r.status_code}"
                except httpx.HTTPError as exc:
                    error = f"http:{exc.__class__.__name__}"
                done = time.time()
                if args.think:
                    await asyncio.sleep(random.expovariate(1 / args.think))
                out.write(
                    json.dumps(
                        {
                            "page": kind,
                            "t_start": t,
                            "t_done": done,
                            "seconds": done - t,
                            "error": error,
                        }
                    )
                    + "\n"
                )

    await asyncio.gather(*(user(n) for n in range(args.users)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", choices=["closed", "rate", "storefront"], default="closed")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--cap", type=int, default=1500, help="rate mode: journeys at once")
    parser.add_argument("--seconds", type=float, default=90, help="time new journeys start")
    parser.add_argument("--ramp", type=float, default=5.0)
    parser.add_argument("--think", type=float, default=0.0, help="storefront: mean think time")
    parser.add_argument(
        "--poll", type=float, default=0.2, help="first poll after paying; fallback interval"
    )
    parser.add_argument(
        "--fixed-poll", action="store_true", help="poll every --poll s, ignore the server's"
    )
    parser.add_argument(
        "--legacy-poll", action="store_true", help="poll the order's detail (before #19)"
    )
    parser.add_argument("--release-timeout", type=float, default=60.0)
    parser.add_argument("--http-timeout", type=float, default=30.0)
    args = parser.parse_args()
    plan = Plan(args.plan)
    try:
        import uvloop  # optional: a cheaper event loop when installed

        uvloop.install()
    except ImportError:
        pass
    with open(args.out, "w", buffering=1) as out:
        out.write(json.dumps({"started": time.time()}) + "\n")
        runner = {"closed": closed, "rate": rate, "storefront": storefront}[args.mode]
        asyncio.run(runner(plan, args, out))


if __name__ == "__main__":
    main()
