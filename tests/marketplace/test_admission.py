"""Overload handled, not suffered (issue #19, config/admission.py): past the in-flight limit or
the expensive-POST budget the edge answers 503 with Retry-After and a body in the user's
language before any view runs (nothing half written); callbacks are never shed and stay
idempotent and cheap."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import admission
from customs.models import Declaration
from marketplace.models import Order, Payment
from tests.marketplace.support import notify, pay, place

pytestmark = pytest.mark.django_db
NOW = 1_900_000_000.0


def ours(captured) -> int:
    """Statements on our tables: the embedded default's database cache (the shared window's
    counter; Redis in production) and its transaction control are not."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return sum(
        "bondport_cache" not in q["sql"] and not q["sql"].startswith(control)
        for q in captured.captured_queries
    )


@pytest.fixture
def budget(settings, monkeypatch):
    """Two expensive POSTs a second, the clock held inside one second."""
    settings.ADMISSION_EXPENSIVE_RATE = 2
    settings.ADMISSION_RETRY_AFTER_SECONDS = 3
    monkeypatch.setattr(admission.time, "time", lambda: NOW)
    cache.delete(f"admission:expensive:{int(NOW)}")
    admission.budget_set(None)
    yield
    admission.budget_set(None)
    cache.delete(f"admission:expensive:{int(NOW)}")


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_burst_of_placements_past_the_budget_gets_clean_503s_and_nothing_half_written(
    world, budget
):
    api = _api(world.shopper.user)
    body = {
        "delivery": {"mode": "pickup", "counter_code": "C-ZZ1"},
        "lines": [{"listing_id": world.paste.pk, "quantity": 1}],
    }
    before = Order.objects.count()
    answers = [api.post("/api/v1/orders/place/", body, format="json") for _ in range(6)]
    assert [a.status_code for a in answers] == [201, 201, 503, 503, 503, 503]
    refused = answers[2]
    assert refused["Retry-After"] == "3"
    assert refused.json()["code"] == "overloaded" and refused.json()["extra"]["retry_after"] == 3
    assert Order.objects.count() == before + 2  # the refused ones wrote nothing
    with CaptureQueriesContext(connection) as captured:
        assert api.post("/api/v1/orders/place/", body, format="json").status_code == 503
    assert ours(captured) == 0  # refused before the token is even read
    # an admitted order is finished: its payment start and status poll are not budgeted
    number = answers[0].json()[0]["number"]
    assert api.post(f"/api/v1/orders/{number}/payment/").status_code == 201
    assert Payment.objects.filter(order__number=number).count() == 1
    assert api.get(f"/api/v1/orders/{number}/status/").status_code == 200


def test_the_budget_changes_on_every_node_at_run_time_without_a_restart(world, budget, monkeypatch):
    """`manage.py admission_budget N` (the operator during a rush): the shared override wins
    over ADMISSION_EXPENSIVE_RATE within a second in every process, --clear goes back."""
    from io import StringIO

    from django.core.management import call_command

    api = _api(world.shopper.user)
    body = {
        "delivery": {"mode": "pickup", "counter_code": "C-ZZ1"},
        "lines": [{"listing_id": world.paste.pk, "quantity": 1}],
    }
    out = StringIO()
    call_command("admission_budget", "1", stdout=out)
    assert "1 placements a second (set at run time; the setting is 2)" in out.getvalue()
    answers = [api.post("/api/v1/orders/place/", body, format="json") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 503, 503]
    # another process reads the override at most once a second: make this one forget it
    cache.delete(f"admission:expensive:{int(NOW)}")
    call_command("admission_budget", "0", stdout=StringIO())  # 0: no budget at all
    assert all(
        api.post("/api/v1/orders/place/", body, format="json").status_code == 201 for _ in range(4)
    )
    out = StringIO()
    call_command("admission_budget", "--clear", stdout=out)
    assert "2 placements a second (ADMISSION_EXPENSIVE_RATE" in out.getvalue()
    cache.delete(f"admission:expensive:{int(NOW)}")
    answers = [api.post("/api/v1/orders/place/", body, format="json") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 503]


def test_the_budget_command_refuses_a_negative_rate_and_changes_nothing(budget):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="0 or more"):
        call_command("admission_budget", "-3")
    assert admission.budget_rate() == 2


def test_a_budget_set_in_another_process_is_seen_within_a_second(budget, monkeypatch):
    clock = {"t": 100.0}
    monkeypatch.setattr(admission.time, "monotonic", lambda: clock["t"])
    admission.budget_set(None)
    assert admission.budget_rate() == 2
    cache.set(admission.BUDGET_KEY, 9, timeout=None)  # what another node's command wrote
    clock["t"] += 0.5
    assert admission.budget_rate() == 2  # read at most once a second
    clock["t"] += 0.6
    assert admission.budget_rate() == 9
    admission.budget_set(None)


def test_the_refusal_speaks_the_users_language_as_html_or_json(world, client, budget):
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    for _ in range(2):
        client.post("/checkout/")
    page = client.post("/checkout/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 503 and page["Retry-After"] == "3"
    assert "text/html" in page["Content-Type"]
    text = page.content.decode()
    assert '<html lang="zh-hans">' in text and "请" in text and "3" in text
    english = client.post("/checkout/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Nothing was saved" in english.content.decode()
    api = APIClient().post("/api/v1/orders/place/", {}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert api.status_code == 503 and "请" in api.json()["message"]


def test_past_the_in_flight_limit_pages_are_shed_but_callbacks_never(
    world, client, settings, monkeypatch, budget
):
    [order] = place(world, (world.paste, 1))
    settings.ADMISSION_MAX_IN_FLIGHT = 2
    monkeypatch.setattr(admission, "_in_flight", 2)  # two others being served already
    shed = client.get("/products/")
    assert shed.status_code == 503 and shed["Retry-After"] == "3"
    assert shed["X-Shed-Reason"] == "in_flight"
    # the payment provider's notification is applied, and its repeat too, while pages shed
    charge, response = pay(client, order)
    assert response.status_code == 200 and response.content == b"success"
    assert notify(client, charge).content == b"success"
    receipt = client.post("/api/v1/customs/receipts", b"<x/>", content_type="application/xml")
    assert receipt.status_code != 503  # refused or not, by its own rules: never shed
    assert client.get("/healthz").status_code != 503
    assert client.post("/api/v1/kiosk/pickups/lookup", {}).status_code != 503
    monkeypatch.setattr(admission, "_in_flight", 0)
    order.refresh_from_db()
    assert order.state == "paid"


def test_a_repeated_payment_notification_is_idempotent_and_cheap(world, client):
    [order] = place(world, (world.paste, 1))
    charge, first = pay(client, order)
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        again = notify(client, charge)  # the provider's retry, a fresh nonce
    assert again.status_code == 200 and again.content == b"success"
    assert order.events.filter(to_state="paid").count() == 1
    assert Declaration.objects.filter(order_no=order.number, kind="payment").count() == 1
    # the nonce (in its savepoint); the shopper's quota lock, the payment with its order (found
    # paid: nothing more) in a savepoint
    assert ours(captured) <= 7
