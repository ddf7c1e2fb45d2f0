"""What each shopper request of the order journey costs in SQL statements (issue #7): the
order's detail (the app polls it every second while the order clears), starting the payment
and the provider's notification. The counts are asserted so that a change adding a read shows
up here. A transaction's BEGIN/COMMIT (a SAVEPOINT/RELEASE inside the test's transaction)
counts two."""

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customs.models import Declaration
from marketplace import payment_provider
from marketplace.models import Order, Payment, SandboxCharge
from tests.marketplace.support import notify, place

pytestmark = pytest.mark.django_db


def _token_client(user) -> APIClient:
    """As the shopper's app calls: a real token, read on every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_detail_poll_is_the_token_the_order_and_its_lines(world, django_assert_num_queries):
    [order] = place(world, (world.paste, 2))
    Order.objects.filter(pk=order.pk).update(filed_at=timezone.now())
    api = _token_client(world.shopper.user)
    with django_assert_num_queries(3):
        response = api.get(f"/api/v1/orders/{order.number}/")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == order.number and body["merchant"] == world.merchant.name
    assert [line["quantity"] for line in body["lines"]] == [2]
    assert body["timeline"][2]["at"] is not None  # filing


def test_detail_poll_before_filing_looks_for_the_stamp_in_one_read(
    world, django_assert_num_queries
):
    [order] = place(world, (world.paste, 1))
    api = _token_client(world.shopper.user)
    with django_assert_num_queries(4):
        response = api.get(f"/api/v1/orders/{order.number}/")
    assert response.status_code == 200 and response.json()["timeline"][2]["at"] is None


def test_detail_of_someone_elses_order_is_not_found_and_without_a_profile_says_so(world):
    [order] = place(world, (world.paste, 1))
    other = _token_client(world.other.user).get(f"/api/v1/orders/{order.number}/")
    assert other.status_code == 404 and other.json()["code"] == "order_not_found"
    assert order.number not in other.content.decode()
    from tests.marketplace.factories import UserFactory

    nobody = _token_client(UserFactory()).get(f"/api/v1/orders/{order.number}/")
    assert nobody.status_code == 404 and nobody.json()["code"] == "not_found"  # no profile


def test_payment_start_reads_the_order_once(world, django_assert_num_queries):
    [order] = place(world, (world.paste, 1))
    api = _token_client(world.shopper.user)
    # token; the order with its shopper; a pending charge to reuse; the buyer the order was
    # declared to customs with (the payer must be the buyer); the sandbox provider's charge (an
    # HTTP call to a real provider); the payment.
    with django_assert_num_queries(6):
        response = api.post(f"/api/v1/orders/{order.number}/payment/")
    assert response.status_code == 201
    assert response.json()["order_number"] == order.number
    # the pending charge is reused (3 before issue #19: the token is read once per process
    # and TOKEN_AUTH_CACHE_SECONDS, marketplace.auth.CachedTokenAuthentication)
    with django_assert_num_queries(2):
        again = api.post(f"/api/v1/orders/{order.number}/payment/")
    assert again.json()["pay_url"] == response.json()["pay_url"]
    assert Payment.objects.filter(order=order).count() == 1
    someone = _token_client(world.other.user).post(f"/api/v1/orders/{order.number}/payment/")
    assert someone.status_code == 404


def test_notification_marks_paid_and_files_the_payment_in_a_fixed_number_of_statements(
    world, client, django_assert_num_queries
):
    [order] = place(world, (world.paste, 1))
    api = _token_client(world.shopper.user)
    token = api.post(f"/api/v1/orders/{order.number}/payment/").json()["pay_url"].split("/")[-2]
    payment_provider.sandbox_pay(token=token)
    charge = SandboxCharge.objects.get(token=token)
    # the nonce (its own transaction); then: the shopper locked (the quota lock checkout takes
    # too), the payment with its order (both locked), its
    # shopper and units; in a savepoint the year's quota, the reservation (locked, confirmed),
    # the order's event and state, the payment; customs: the clearance locked, the order's
    # and any earlier payment's declaration, the parties' names, the declaration, the
    # three-order rule, the clearance's payment time.
    with django_assert_num_queries(21):
        response = notify(client, charge)
    assert response.status_code == 200 and response.content == b"success"
    order.refresh_from_db()
    assert order.state == "paid"
    declaration = Declaration.objects.get(order_no=order.number, kind="payment")
    assert declaration.payload["amount_paid"] == "54.55"


@pytest.mark.postgres
def test_notification_locks_the_payment_with_its_order_in_one_read(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    [order] = place(world, (world.paste, 1))
    api = _token_client(world.shopper.user)
    token = api.post(f"/api/v1/orders/{order.number}/payment/").json()["pay_url"].split("/")[-2]
    payment_provider.sandbox_pay(token=token)
    with CaptureQueriesContext(connection) as captured:
        assert notify(client, SandboxCharge.objects.get(token=token)).status_code == 200
    locks = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    # The shopper first (the quota lock, as checkout takes it), then payment and order.
    assert locks[0].startswith('SELECT "marketplace_shopper"."id"')
    assert locks[0].endswith('FOR UPDATE OF "marketplace_shopper"')
    assert locks[1].startswith('SELECT "marketplace_payment"."id"')
    assert locks[1].endswith('FOR UPDATE OF "marketplace_payment", "marketplace_order"')


def test_order_page_status_poll_reads_the_order_once(world, client, django_assert_num_queries):
    [order] = place(world, (world.paste, 1))
    Order.objects.filter(pk=order.pk).update(filed_at=timezone.now())
    client.force_login(world.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    # the session; the order's columns with its user's password hash (no user, merchant or
    # lines: marketplace/poll.py; 4 before issue #19)
    with django_assert_num_queries(2):
        response = client.get(f"/orders/{order.number}/status.json")
    assert response.status_code == 200 and response.json()["state"] == "placed"
    client.force_login(world.other.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    assert client.get(f"/orders/{order.number}/status.json").status_code == 404
