"""IDOR matrix: two shoppers, two merchants' staff, two kiosks and an anonymous visitor against
every order, cart, payment, declaration, pickup, warehouse and kiosk endpoint (HTML and API).
Each actor reaches only its own; a refusal never carries the other party's data.

One test per endpoint; inside it every actor is tried on both owners' resources and the whole
table of outcomes is compared at once, so a failure prints who reached what."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from marketplace.models import Order
from marketplace.services import CartLine, PickupDelivery, order_place, payment_start
from marketplace.services.cart import cart_add
from pickup.services import kiosk_create, pickup_code_issue
from pickup.services.codes import code_for
from tests.marketplace.factories import LocationFactory, MerchantStaffFactory

pytestmark = pytest.mark.django_db
ACTORS = ["anonymous", "shopper_a", "shopper_b", "staff_a", "staff_b", "kiosk_a", "kiosk_b"]
DENIED = {401, 403, 404, 405}


@dataclass
class Party:
    shopper: object
    order: Order
    code: str
    staff: object
    kiosk_key: str
    listing: object


@pytest.fixture
def two_sides(world):
    LocationFactory(
        code="C-ZZ2", kind="counter", warehouse=world.warehouse, inside_supervision_zone=True
    )
    sides = {}
    for side, shopper, listing, other_listing, merchant, counter in [
        ("a", world.shopper, world.paste, world.shoes, world.merchant, "C-ZZ1"),
        ("b", world.other, world.milk, world.serum, world.merchant2, "C-ZZ2"),
    ]:
        [order] = order_place(
            shopper=shopper,
            lines=[CartLine(listing.pk, 1)],
            delivery=PickupDelivery(counter_code=counter),
            actor="test",
        )
        # Released, with a pickup code, so every kiosk step has something to find.
        payment_start(order=order)
        Order.objects.filter(pk=order.pk).update(state="released")
        order.refresh_from_db()
        code = code_for(pickup_code_issue(order=order))
        cart_add(shopper=shopper, listing_id=other_listing.pk, quantity=1)
        staff = MerchantStaffFactory(merchant=merchant).user
        staff.user_permissions.add(
            *Permission.objects.filter(
                # What the demo grants merchant staff; customs records are not theirs.
                codename__in=["view_order", "view_listing"]
            )
        )
        _kiosk, key = kiosk_create(name=counter, counter_code=counter, actor="test")
        sides[side] = Party(shopper, order, code, staff, key, other_listing)
    return sides


def client_for(actor: str, sides) -> Client:
    client = Client()
    if actor.startswith("shopper_"):
        client.force_login(sides[actor[-1]].shopper.user)
    elif actor.startswith("staff_"):
        client.force_login(sides[actor[-1]].staff)
    elif actor.startswith("kiosk_"):
        client.defaults["HTTP_AUTHORIZATION"] = f"Kiosk {sides[actor[-1]].kiosk_key}"
    return client


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with no=order number, pk=order pk
    owner_role: str  # "shopper", "staff", "kiosk" or "" (nobody in this matrix)
    body: dict | None = None  # formatted like the path
    lists: bool = False  # a list page: "reached" means the order shows up in it

    def call(self, client: Client, party: Party):
        fields = {"no": party.order.number, "pk": party.order.pk, "code": party.code,
                  "id6": party.shopper.resident_id[-6:],
                  "barcode": party.order.lines.first().listing.item.barcode}  # fmt: skip
        path = self.path.format(**fields)
        body = {
            k: [x.format(**fields) for x in v] if isinstance(v, list) else str(v).format(**fields)
            for k, v in (self.body or {}).items()
        }
        if self.method == "get":
            return client.get(path)
        return client.post(path, body, content_type="application/json")


ENDPOINTS = [
    # storefront pages (session)
    Endpoint("order page", "get", "/orders/{no}/", "shopper"),
    Endpoint("order status.json", "get", "/orders/{no}/status.json", "shopper"),
    Endpoint("order pay", "post", "/orders/{no}/pay/", "shopper"),
    Endpoint("order cancel", "post", "/orders/{no}/cancel/", "shopper"),
    Endpoint("order return", "post", "/orders/{no}/return/", "shopper"),
    Endpoint("my orders page", "get", "/orders/", "shopper", lists=True),
    # storefront API
    Endpoint("api order", "get", "/api/v1/orders/{no}/", "shopper"),
    Endpoint("api order status poll", "get", "/api/v1/orders/{no}/status/", "shopper"),
    Endpoint("api orders list", "get", "/api/v1/orders/", "shopper", lists=True),
    Endpoint("api payment start", "post", "/api/v1/orders/{no}/payment/", "shopper"),
    Endpoint("api payment status", "get", "/api/v1/orders/{no}/payment/status/", "shopper"),
    Endpoint("api pickup code", "get", "/api/v1/orders/{no}/pickup-code/", "shopper"),
    Endpoint("api cancel", "post", "/api/v1/orders/{no}/cancel/", "shopper"),
    Endpoint("api return", "post", "/api/v1/orders/{no}/return/", "shopper"),
    # customs: the clearance read is for platform / customs staff, none of these actors
    Endpoint("api clearance", "get", "/api/v1/customs/orders/{no}/clearance", ""),
    # merchant staff in the admin
    Endpoint("admin order", "get", "/admin/marketplace/order/{pk}/change/", "staff"),
    Endpoint("admin orders list", "get", "/admin/marketplace/order/", "staff", lists=True),
    Endpoint("admin declarations", "get", "/admin/customs/declaration/?q={no}", "", lists=True),
    # warehouse (dispatch): operators only, none of these actors
    Endpoint("warehouse page", "get", "/warehouse/", "", lists=True),
    Endpoint("warehouse shipment page", "get", "/warehouse/shipments/{no}/", ""),
    Endpoint("api dispatch waves", "get", "/api/v1/dispatch/waves/", "", lists=True),
    Endpoint("api dispatch new wave", "post", "/api/v1/dispatch/waves/", ""),
    Endpoint("api dispatch shipment", "get", "/api/v1/dispatch/shipments/{no}/", ""),
    Endpoint(
        "api dispatch pack", "post", "/api/v1/dispatch/shipments/{no}/pack", "", {"weight_kg": "1"}
    ),
    Endpoint("api dispatch confirm", "post", "/api/v1/dispatch/shipments/{no}/dispatch", ""),
    # kiosk API
    Endpoint("kiosk order", "get", "/api/v1/kiosk/orders/{no}", "kiosk"),
    Endpoint("kiosk lookup", "post", "/api/v1/kiosk/pickups/lookup", "kiosk", {"code": "{code}"}),
    Endpoint(
        "kiosk identity",
        "post",
        "/api/v1/kiosk/pickups/identity",
        "kiosk",
        {"code": "{code}", "id": "{id6}"},
    ),
    Endpoint(
        "kiosk handover",
        "post",
        "/api/v1/kiosk/pickups/handover",
        "kiosk",
        {"code": "{code}", "barcodes": ["{barcode}"]},
    ),
]


def reached(endpoint: Endpoint, response, party: Party) -> bool:
    """Did the actor get at this party's resource? Refusals must not leak it either."""
    body = response.content.decode(errors="replace")
    if endpoint.lists:
        return response.status_code == 200 and party.order.number in body
    if response.status_code in (301, 302):
        target = response["Location"]
        return "/login" not in target and "/admin/" not in target.replace("/admin/login", "")
    refused = response.status_code in DENIED or (
        # Another counter's code: the kiosk is told only where to send the shopper.
        endpoint.path.startswith("/api/v1/kiosk/pickups")
        and response.status_code == 409
        and response.json().get("code") == "wrong_counter"
    )
    if refused:
        # (The order number may appear: it is in the URL the actor asked for.)
        for secret in (party.shopper.real_name, party.shopper.mobile, str(party.order.total)):
            assert secret not in body, f"{endpoint.name}: refusal leaks {secret}"
        return False
    return True


def expected(endpoint: Endpoint, actor: str, side: str) -> bool:
    return bool(endpoint.owner_role) and actor == f"{endpoint.owner_role}_{side}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_each_actor_reaches_only_its_own(two_sides, endpoint):
    got, want = {}, {}
    for side in ("a", "b"):
        for actor in ACTORS:
            response = endpoint.call(client_for(actor, two_sides), two_sides[side])
            got[(actor, side)] = (reached(endpoint, response, two_sides[side]),
                                  response.status_code)  # fmt: skip
            want[(actor, side)] = expected(endpoint, actor, side)
    wrong = {k: v for k, v in got.items() if v[0] != want[k]}
    table = "\n".join(
        f"  {actor:10} on {side}'s: reached={got[(actor, side)][0]!s:5} "
        f"(HTTP {got[(actor, side)][1]}) expected={want[(actor, side)]}"
        for actor in ACTORS
        for side in ("a", "b")
    )
    print(f"{endpoint.name}:\n{table}")
    assert not wrong, f"{endpoint.name}: wrong outcomes {wrong}\n{table}"


def test_carts_hold_only_their_own_items(two_sides):
    for side, other in (("a", "b"), ("b", "a")):
        client = client_for(f"shopper_{side}", two_sides)
        lines = client.get("/api/v1/cart/").json()["lines"]
        assert [line["listing_id"] for line in lines] == [two_sides[side].listing.pk]
        page = client.get("/cart/").content.decode()
        assert two_sides[side].listing.item.name_zh in page
        assert two_sides[other].listing.item.name_zh not in page
    assert client_for("anonymous", two_sides).get("/api/v1/cart/").status_code in (401, 403)


def test_a_kiosk_session_page_shows_only_its_counters_orders(two_sides, client):
    response = client.post("/kiosk/sign-in", {"key": two_sides["a"].kiosk_key})
    assert response.status_code == 302
    own = client.get(f"/api/v1/kiosk/orders/{two_sides['a'].order.number}")
    assert own.status_code == 200
    assert own.json()["order_no"] == two_sides["a"].order.number
    assert client.get(f"/api/v1/kiosk/orders/{two_sides['b'].order.number}").status_code == 404
