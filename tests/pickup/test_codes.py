"""Pickup codes: derivation, storage, lookup at the counter, limits and the audit log."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from marketplace.models import Order
from pickup.models import Attempt, PickupCode
from pickup.panels import pickup_panel
from pickup.services import codes, pickup_code_issue
from pickup.services.codes import code_derive, code_find, code_for
from tests.marketplace.factories import OrderFactory, ShopperFactory
from tests.pickup import factories
from tests.pickup.factories import pickup_order

pytestmark = pytest.mark.django_db
real_derive = code_derive
LOOKUP, IDENTITY = "/api/v1/kiosk/pickups/lookup", "/api/v1/kiosk/pickups/identity"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_is_six_digits_redisplayable_and_stored_only_hashed(kiosk):
    order, code = pickup_order()
    assert len(code) == 6 and code.isdigit()
    row = PickupCode.objects.get(order=order)
    assert code_for(row) == code
    assert pickup_code_issue(order=order).pk == row.pk  # idempotent
    assert code not in str(PickupCode.objects.values().get(pk=row.pk))


def test_code_depends_on_a_random_salt_not_only_on_the_order_number():
    codes = {code_derive(order_no="BP202600000001", salt=f"salt{n}") for n in range(50)}
    assert len(codes) > 45
    assert code_derive(order_no="BP1", salt="s") == code_derive(order_no="BP1", salt="s")


class ForcedDigits:
    """Stands in for code_derive: the first draws for an order give the digits queued for it,
    later draws the real derivation. Remembers what it gave per (order, salt), so code_for
    shows an order the digits it was issued."""

    def __init__(self, queued: dict[str, list[str]]):
        self.queued = queued
        self.given: dict[tuple[str, str], str] = {}
        self.draws: dict[str, int] = {}

    def __call__(self, *, order_no: str, salt: str) -> str:
        key = (order_no, salt)
        if key not in self.given:
            self.draws[order_no] = self.draws.get(order_no, 0) + 1
            queue = self.queued.get(order_no) or []
            self.given[key] = queue.pop(0) if queue else real_derive(order_no=order_no, salt=salt)
        return self.given[key]


def _open_digit_hashes() -> list[str]:
    return list(
        PickupCode.objects.filter(used_at__isnull=True).values_list("digits_hash", flat=True)
    )


def test_a_drawn_code_that_clashes_with_an_open_one_is_drawn_again(kiosk, monkeypatch):
    first = pickup_order()[0]
    taken = code_for(first.pickup_code)
    forced = ForcedDigits({"BP202699990002": [taken, taken]})
    monkeypatch.setattr(codes, "code_derive", forced)
    second = pickup_order(number="BP202699990002")[0]
    assert forced.draws[second.number] == 3  # two clashes, then a free code
    assert code_for(PickupCode.objects.get(order=second)) != taken
    assert code_find(code=taken).order == first


def test_the_database_refuses_two_uncollected_codes_with_the_same_digits(kiosk):
    order = pickup_order()[0]
    other = OrderFactory(delivery_mode="pickup", counter_code="C-ZZ1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PickupCode.objects.create(
            order=other,
            counter_code="C-ZZ1",
            salt="x",
            code_hash="x",
            digits_hash=order.pickup_code.digits_hash,
        )


def test_a_clash_the_check_missed_is_caught_by_the_constraint_and_drawn_again(kiosk, monkeypatch):
    """As under a race: the check sees no open code, the insert clashes, issue draws again."""
    first = pickup_order()[0]
    taken = code_for(first.pickup_code)
    monkeypatch.setattr(codes, "code_derive", ForcedDigits({"BP202699990002": [taken]}))
    monkeypatch.setattr(codes, "_open_codes", PickupCode.objects.none)
    pickup_order(number="BP202699990002")
    hashes = _open_digit_hashes()
    assert len(hashes) == 2 and len(set(hashes)) == 2


def test_no_free_code_after_many_clashes_is_a_refusal_not_a_duplicate(kiosk, monkeypatch):
    first = pickup_order()[0]
    second = OrderFactory(state="released", delivery_mode="pickup", counter_code="C-ZZ1")
    taken = code_for(first.pickup_code)
    monkeypatch.setattr(codes, "code_derive", lambda **_kw: taken)
    with pytest.raises(DomainError) as refused:
        pickup_code_issue(order=second)
    assert refused.value.code == "pickup_code_unavailable"
    assert _open_digit_hashes() == [first.pickup_code.digits_hash]


def test_wrong_code_is_refused_and_logged(api, kiosk):
    _order, code = pickup_order()
    response = api.post(LOOKUP, {"code": _wrong(code)})
    assert response.status_code == 400
    assert response.data["code"] == "code_wrong"
    assert response.data["extra"]["tries_left"] == 4
    attempt = Attempt.objects.get()
    assert (attempt.kind, attempt.outcome, attempt.order) == ("code", "wrong", None)


def test_kiosk_locks_for_15_minutes_after_5_wrong_codes(api, kiosk):
    _order, code = pickup_order()
    for _ in range(5):
        assert api.post(LOOKUP, {"code": _wrong(code)}).status_code == 400
    response = api.post(LOOKUP, {"code": code})  # even the right code waits out the lock
    assert response.status_code == 429
    assert response.data["code"] == "locked"
    assert response.data["extra"]["scope"] == "kiosk"
    last_wrong = Attempt.objects.filter(outcome="wrong").latest("at").at
    until = timezone.localtime(last_wrong + timedelta(minutes=15))  # Asia/Shanghai
    assert until.strftime("%H:%M") in response.data["message"]
    assert Attempt.objects.filter(outcome="locked").count() == 1
    # a quarter of an hour later the kiosk may try again
    Attempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert api.post(LOOKUP, {"code": _wrong(code)}).data["code"] == "code_wrong"


def test_another_kiosk_is_not_locked_by_its_neighbour(api, kiosk):
    from rest_framework.test import APIClient

    _order, code = pickup_order()
    for _ in range(5):
        api.post(LOOKUP, {"code": _wrong(code)})
    _other, key = factories.kiosk("C-ZZ1", name="second")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    assert client.post(IDENTITY, {"code": code, "id_last6": "000000"}).data["code"] != "locked"


def test_wrong_counter_is_refused_and_told_where_the_goods_are(api, kiosk):
    factories.counter("C-ZZ2")
    _order, code = pickup_order(counter_code="C-ZZ2")
    response = api.post(LOOKUP, {"code": code})
    assert response.status_code == 409
    assert response.data["code"] == "wrong_counter"
    assert response.data["extra"]["counter_code"] == "C-ZZ2"
    assert response.data["extra"]["counter_name_en"] == "Counter C-ZZ2"
    assert Attempt.objects.get().reason == "wrong_counter"


@pytest.mark.parametrize("state", ["placed", "paid", "held"])
def test_code_is_not_valid_before_release(api, kiosk, state):
    _order, code = pickup_order(state=state)
    response = api.post(LOOKUP, {"code": code})
    assert response.status_code == 409
    assert response.data["code"] == "not_ready"


def test_identity_by_last_six_or_full_id(api, kiosk):
    shopper = ShopperFactory(resident_id="11010519491231002X")
    _order, code = pickup_order(shopper=shopper)
    ok = api.post(IDENTITY, {"code": code, "id_last6": "31002x"})
    assert ok.status_code == 200 and ok.data["identity_ok"] is True
    ok = api.post(IDENTITY, {"code": code, "id_full": "11010519491231002X"})
    assert ok.status_code == 200
    wrong = api.post(IDENTITY, {"code": code, "id_last6": "123456"})
    assert wrong.status_code == 400 and wrong.data["code"] == "identity_mismatch"
    assert api.post(IDENTITY, {"code": code}).data["code"] == "identity_mismatch"


def test_order_locks_after_5_wrong_identities_on_any_kiosk(api, kiosk):
    from rest_framework.test import APIClient

    shopper = ShopperFactory(resident_id="440524188001010014")
    _order, code = pickup_order(shopper=shopper)
    for n in range(5):
        response = api.post(IDENTITY, {"code": code, "id_last6": f"99999{n}"})
        assert response.data["code"] == "identity_mismatch"
    _other, key = factories.kiosk("C-ZZ1", name="second")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    response = client.post(IDENTITY, {"code": code, "id_last6": "010014"})
    assert response.status_code == 429
    assert response.data["extra"]["scope"] == "order"


def test_audit_log_never_holds_the_tried_digits(api, kiosk):
    shopper = ShopperFactory(resident_id="360426199101010071")
    _order, code = pickup_order(shopper=shopper)
    api.post(IDENTITY, {"code": code, "id_last6": "424242"})
    api.post(IDENTITY, {"code": code, "id_full": "120103198806018241"})
    api.post(LOOKUP, {"code": _wrong(code)})
    dump = str(list(Attempt.objects.values()))
    for secret in ("424242", "120103198806018241", "010071", _wrong(code), code):
        assert secret not in dump


def test_admin_lists_never_show_the_code(admin_client, kiosk):
    order, code = pickup_order()
    for url in ("/admin/pickup/pickupcode/", "/admin/pickup/attempt/"):
        page = admin_client.get(url).content.decode()
        assert code not in page
    row = PickupCode.objects.get(order=order)
    detail = admin_client.get(f"/admin/pickup/pickupcode/{row.pk}/change/")
    assert code not in detail.content.decode()


def test_panel_shows_code_and_qr_once_released(rf, kiosk):
    order, code = pickup_order()
    html = pickup_panel(order, rf.get("/"))
    assert code in html and "<svg" in html


def test_panel_before_release_is_a_note_without_code(rf, kiosk):
    order, code = pickup_order(state="paid")
    html = pickup_panel(order, rf.get("/"))
    assert html and code not in html and "<svg" not in html


def test_panel_is_empty_for_delivery_orders(rf, kiosk):
    order, _code = pickup_order()
    order.delivery_mode = Order.Delivery.DELIVERY
    assert pickup_panel(order, rf.get("/")) == ""


def test_lookup_shows_the_order_and_only_the_masked_identity(api, kiosk):
    shopper = ShopperFactory(resident_id="11010519491231002X")
    order, code = pickup_order(shopper=shopper)
    response = api.post(LOOKUP, {"code": code})
    assert response.status_code == 200, response.data
    assert response.data["order_no"] == order.number
    assert response.data["shopper_masked_id"].endswith("002X")
    assert "11010519491231002X" not in str(response.data)


@pytest.mark.parametrize("state", ["cancelled", "expired", "rejected", "returned"])
def test_code_of_a_closed_order_opens_nothing(api, kiosk, state):
    _order, code = pickup_order(state=state)
    response = api.post(LOOKUP, {"code": code})
    assert response.status_code == 409
    assert response.data["code"] == "order_closed"
