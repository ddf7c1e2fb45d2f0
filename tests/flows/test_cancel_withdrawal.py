"""A cancelled order's withdrawal reaches customs: the marketplace's cancellation files a CEB623
for the declared inventory list, the real sandbox authority (its own process, over HTTP)
cancels the list and answers, and only its answer ends the clearance cancelled. A refusal is
shown on the order page and in the admin. Each test fails if order_cancel stops withdrawing."""

import pytest
from django.test import Client

from customs import services as customs_services
from customs.models import Declaration
from marketplace.models import Order
from marketplace.services import order_cancel
from tests.customs.support import drive
from tests.marketplace.support import pay, place
from tests.support import wait_until

pytestmark = pytest.mark.django_db


def _declared(world, sandbox) -> Order:
    """A paid order whose inventory list went to the authority (its answers not read yet)."""
    [order] = place(world, (world.paste, 2))
    pay(Client(), order)
    drive(order.number, until=("declared",))
    customs_services.declarations_file()  # the CEB621 goes to the authority
    inventory = Declaration.objects.get(order_no=order.number, kind="inventory")
    assert inventory.state == "sent"
    assert "customs:CEB621" in sandbox.records(order.number)
    return Order.objects.get(pk=order.pk)


def _page(world, order) -> str:
    client = Client()
    client.force_login(world.shopper.user)
    response = client.get(f"/orders/{order.number}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_cancelling_a_declared_order_files_ceb623_and_ends_cancelled_when_acknowledged(
    world, sandbox, admin_client
):
    sandbox.control(latency_ms=400)  # the authority's steps take a while: cancel in between
    order = _declared(world, sandbox)
    assert sandbox.records(order.number)["customs:CEB621"]["status"] in (2, 120)

    order_cancel(order=order, actor="shopper", reason="changed my mind")
    clearance = drive(order.number, until=("cancelled",))

    theirs = sandbox.records(order.number)
    cancel = theirs["customs:CEB623"]
    assert cancel["status"] == 399 and cancel["info"] == "inventory list cancelled"
    head = cancel["data"]["head"]
    assert head["orderNo"] == order.number and head["reason"] == "changed my mind"
    assert theirs["customs:CEB621"]["status"] == 700  # the list itself: withdrawn there
    # Here: the clearance ended cancelled only with the authority's answer, the list with it.
    states = {(d.message_type, d.state) for d in clearance.declarations}
    assert {("CEB623", "concluded"), ("CEB621", "cancelled")} <= states
    assert [h[1] for h in clearance.history][-1] == "cancelled"
    assert clearance.withdrawal.state == "confirmed"
    assert not clearance.goods_released
    assert Order.objects.get(pk=order.pk).state == "cancelled"
    page = _page(world, order)
    assert "Customs confirmed the withdrawal of this order's inventory list." in page, page[-3000:]


def test_until_customs_answers_the_clearance_is_not_cancelled_and_the_page_says_so(world, sandbox):
    sandbox.control(latency_ms=400)
    order = _declared(world, sandbox)
    order_cancel(order=order, actor="shopper", reason="changed my mind")
    cancel = Declaration.objects.get(order_no=order.number, kind="cancel")
    assert cancel.state == "pending"  # durable, for the filing push
    from customs import selectors

    assert selectors.order_clearance(order.number).state == "declared"
    assert "waiting to be sent to customs" in _page(world, order)
    assert customs_services.declarations_file().sent == 1  # the push takes the CEB623
    assert sandbox.records(order.number)["customs:CEB623"]["status"] in (2, 120, 399)
    assert selectors.order_clearance(order.number).state == "declared"
    assert "filed with customs; waiting for its answer" in _page(world, order)


def test_a_withdrawal_the_authority_refuses_is_shown_on_the_order_and_in_the_admin(
    world, sandbox, admin_client
):
    # The authority releases the list at once; our copy has not heard yet when the shopper
    # cancels, so the CEB623 arrives too late and is refused.
    order = _declared(world, sandbox)
    wait_until(lambda: sandbox.records(order.number)["customs:CEB621"]["status"] == 800)
    order_cancel(order=order, actor="shopper", reason="changed my mind")

    def refused():
        customs_services.declarations_file()
        customs_services.receipts_poll(authority="customs")
        return Declaration.objects.filter(
            order_no=order.number, kind="cancel", state="rejected"
        ).first()

    cancel = wait_until(refused, timeout=20)
    assert cancel.return_info == "inventory list already released or unknown"
    theirs = sandbox.records(order.number)
    assert theirs["customs:CEB623"]["status"] == 100
    assert theirs["customs:CEB621"]["status"] == 800
    page = _page(world, order)
    assert (
        "Customs refused to withdraw this order's inventory list: inventory list already "
        "released or unknown"
    ) in page, page[-3000:]
    admin = admin_client.get(f"/admin/marketplace/order/{order.pk}/change/").content.decode()
    assert "海关拒绝撤销本订单的清单：inventory list already released or unknown" in admin


def test_a_list_whose_answer_was_lost_is_withdrawn_at_the_authority_too(world, sandbox):
    """The list's send timed out here but reached the authority: cancelling must not just drop
    it here (it would stay live there and be released); it files it again (answered
    idempotently) and then its CEB623, and the authority cancels it."""
    from customs.errors import GatewayUnavailable

    [order] = place(world, (world.paste, 1))
    pay(Client(), order)
    drive(order.number, until=("declared",))
    # Slower than our read timeout (2 s): we give up, the authority still takes the list.
    sandbox.control(response_delay_ms=2500, latency_ms=1000)
    with pytest.raises(GatewayUnavailable):
        customs_services.declarations_file()
    inventory = Declaration.objects.get(order_no=order.number, kind="inventory")
    assert (inventory.state, inventory.attempts) == ("pending", 1)
    wait_until(lambda: "customs:CEB621" in sandbox.records(order.number), timeout=10)
    sandbox.control(response_delay_ms=0)

    order_cancel(order=Order.objects.get(pk=order.pk), actor="shopper", reason="too slow")
    clearance = drive(order.number, until=("cancelled", "released"))

    theirs = sandbox.records(order.number)
    assert theirs["customs:CEB621"]["status"] == 700  # withdrawn there, not released
    assert theirs["customs:CEB623"]["status"] == 399
    assert theirs["customs:CEB623"]["data"]["head"]["reason"] == "too slow"
    assert clearance.state == "cancelled" and clearance.withdrawal.state == "confirmed"
