"""The order's life against the real customs sandbox: the clearance listener (released,
rejected, held; idempotent), handover, cancel, expiry, returns, illegal transitions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from bonded.models import Balance, Move, Reservation
from customs import selectors as customs_selectors
from marketplace.errors import IllegalTransition, NotReadyForHandover, ReturnNotAllowed
from marketplace.models import Order, Refund
from marketplace.selectors.orders import order_by_no, order_timeline
from marketplace.selectors.quota import annual_quota_used
from marketplace.services import order_cancel, order_deliver
from marketplace.services.notifications import ConsoleSmsSender
from marketplace.services.orders import order_transition, orders_expire
from marketplace.services.returns import order_return_request
from marketplace.tasks import clearance_changed
from tests.customs.support import drive
from tests.marketplace.support import pay, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(world, client, sandbox):
    world.shopper.user.email = "zhang@example.com"
    world.shopper.user.save()
    [order] = place(world, (world.paste, 2))
    file_now()  # customs accepts the order (step 3) before the shopper pays (step 4)
    pay(client, order)
    return Order.objects.get(pk=order.pk)


def file_now():
    from customs import services

    services.declarations_file()
    services.receipts_poll(authority="customs")


def sync(order):
    view = customs_selectors.order_clearance(order.number)
    clearance_changed(order_no=order.number, state=view.state)
    return Order.objects.get(pk=order.pk)


def test_released_clearance_releases_the_order_and_tells_the_shopper(paid_order):
    ConsoleSmsSender.sent.clear()
    drive(paid_order.number)
    order = sync(paid_order)

    assert order.state == "released" and order.released_at is not None
    assert order.clearance_state == "released" and order.filed_at is not None
    assert len(mail.outbox) == 1 and paid_order.number in mail.outbox[0].body
    assert ConsoleSmsSender.sent[-1][0] == order.shopper.mobile
    steps = order_timeline(order)
    assert [s.key for s in steps] == ["registration", "ordering", "filing", "payment", "delivery"]
    times = [s.at for s in steps[:4]]
    assert all(times) and times == sorted(times)

    again = sync(order)  # a second announcement, or the sweep: nothing changes
    assert again.events.filter(to_state="released").count() == 1
    assert len(mail.outbox) == 1


def test_the_sweep_catches_a_lost_announcement(paid_order):
    from marketplace.tasks import clearances_sweep

    drive(paid_order.number)
    clearances_sweep()
    assert Order.objects.get(pk=paid_order.pk).state == "released"


def test_handover_issues_the_stock_once_and_is_step_five(paid_order):
    drive(paid_order.number)
    sync(paid_order)
    order = order_deliver(order_no=paid_order.number, actor="kiosk-1")
    assert order.state == "delivered" and order.delivered_at is not None
    assert Move.objects.filter(reference=order.number, kind="issue").count() == 1
    again = order_deliver(order_no=paid_order.number, actor="kiosk-1")
    assert again.state == "delivered" and again.events.filter(to_state="delivered").count() == 1
    assert order_timeline(order_by_no(order.number))[4].at == order.delivered_at


def test_handover_refused_before_release(world, paid_order):
    with pytest.raises(NotReadyForHandover):
        order_deliver(order_no=paid_order.number, actor="kiosk-1")
    [unpaid] = place(world, (world.paste, 1))
    with pytest.raises(NotReadyForHandover):
        order_deliver(order_no=unpaid.number, actor="kiosk-1")


def test_rejected_by_customs_cancels_refunds_and_frees_the_stock(world, paid_order, sandbox):
    sandbox.control(reject_ebc_codes=[world.merchant.code])
    # Filed after the knob is set: the already-paid order's declarations are rejected.
    [order] = place(world, (world.shoes, 1))
    from django.test import Client

    pay(Client(), order)
    view = drive(order.number)
    assert view.state == "rejected"
    order = sync(order)
    assert order.state == "rejected" and order.state_reason
    assert Refund.objects.filter(payment__order=order).exists()
    assert Reservation.objects.get(reference=order.number).state == "released"
    assert annual_quota_used(shopper=order.shopper) == paid_order.customs_value
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(order.shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
    html = page.get(f"/orders/{order.number}/").content.decode()
    assert "Customs did not clear this order" in html and order.state_reason[:20] in html


def test_held_for_inspection_is_shown(world, paid_order, sandbox):
    sandbox.control(inspection_rate=1.0)
    view = drive(paid_order.number, until=("held",))
    order = sync(paid_order)
    assert order.state == "held" and view.reason in order.state_reason


def test_shopper_cancels_before_release_and_gets_stock_and_money_back(paid_order):
    order = order_cancel(order=paid_order, actor="shopper", reason="changed my mind")
    assert order.state == "cancelled"
    assert Reservation.objects.get(reference=order.number).state == "released"
    assert Refund.objects.filter(payment__order=order).exists()
    # Nothing was declared yet (no inventory list sent): customs' side is cancelled at once,
    # every declaration with it, and nothing is left to file.
    view = customs_selectors.order_clearance(order.number)
    assert view.state == "cancelled"
    assert {(d.message_type, d.state) for d in view.declarations} == {
        ("CEB311", "cancelled"), ("CEB411", "cancelled"), ("CEB511", "cancelled"),
    }  # fmt: skip
    assert not Move.objects.filter(reference=order.number, kind="release").exists()


def test_no_cancel_after_release(paid_order):
    drive(paid_order.number)
    order = sync(paid_order)
    with pytest.raises(IllegalTransition) as exc:
        order_cancel(order=order, actor="shopper", reason="")
    assert exc.value.code == "illegal_transition"


def test_illegal_transitions_raise(world):
    [order] = place(world, (world.paste, 1))
    with pytest.raises(IllegalTransition):
        order_transition(order=order, to="delivered", actor="test")
    assert Order.objects.get(pk=order.pk).state == "placed"


def test_unpaid_orders_expire_with_their_reservation(world, sandbox):
    [order] = place(world, (world.paste, 3))
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert orders_expire() == 1
    order.refresh_from_db()
    assert order.state == "expired"
    assert Balance.objects.get(location=world.storage, item=world.paste.item).reserved == 0
    assert customs_selectors.order_clearance(order.number).state == "cancelled"
    assert orders_expire() == 0


def test_return_within_30_days_refunds_and_gives_the_quota_back(paid_order, world):
    drive(paid_order.number)
    order = sync(paid_order)
    used = annual_quota_used(shopper=order.shopper)
    assert used == Decimal("100.00")
    order = order_return_request(order=order, actor="shopper", reason="unopened")
    _scan_in_when_approved(order, world.paste.item.barcode)
    drive(order.number, until=("returned",))
    order = sync(order)
    assert order.state == "returned"
    assert annual_quota_used(shopper=order.shopper) == Decimal("0.00")
    assert Refund.objects.filter(payment__order=order).exists()
    assert Move.objects.filter(reference=order.number, kind="return").exists()


def _scan_in_when_approved(order, barcode: str) -> None:
    """The warehouse scans the returned units in once customs has approved the return."""
    from customs import services as customs_services
    from customs.models import ReturnIntake

    for _ in range(200):
        if ReturnIntake.objects.filter(return_no=order.return_no).exists():
            break
        drive(order.number, until=("released",))
    assert order_by_no(order.number).state == "released"  # nothing refunded before the scan
    customs_services.return_scan_in(
        return_no=order.return_no,
        barcodes=[barcode] * sum(line.quantity for line in order.lines.all()),
        actor="op",
    )


def test_no_return_after_30_days(paid_order):
    drive(paid_order.number)
    order = sync(paid_order)
    Order.objects.filter(pk=order.pk).update(released_at=timezone.now() - timedelta(days=31))
    with pytest.raises(ReturnNotAllowed):
        order_return_request(order=order, actor="shopper", reason="late")
