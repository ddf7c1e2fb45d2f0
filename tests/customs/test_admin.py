"""Admin pages render, and the inspection queue decides through the service."""

import uuid

import pytest
from django.urls import reverse

from customs import services
from customs.models import Declaration, RiskHit
from tests.customs.factories import order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    Declaration.objects.filter(order_no=order.order_no).update(state="accepted")
    inventory = services.inventory_declare(order_no=order.order_no)
    ids = services.receipts_record(
        receipts=[{"guid": str(uuid.uuid4()), "declGuid": inventory.guid, "returnStatus": 500,
                   "orderNo": order.order_no, "invtNo": "INVA", "returnInfo": "inspection"}],
        source="push",
    )  # fmt: skip
    services.receipt_apply(receipt_id=ids[0])
    return inventory


def test_every_customs_admin_page_renders(admin_client, held):
    models = [
        "declaration",
        "inspectionqueue",
        "orderclearance",
        "receipt",
        "gatewaymessage",
        "inspectiondecision",
        "enterprise",
        "positivelistedition",
        "positivelistentry",
        "riskrule",
        "riskhit",
    ]
    for model in models:
        url = reverse(f"admin:customs_{model}_changelist")
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(reverse("admin:customs_declaration_change", args=[held.pk]))
    assert page.status_code == 200
    assert b"CEB621Message" in page.content and b"440524188001010014" not in page.content


def test_inspection_queue_release_action_records_a_decision_and_changes_nothing(client, held):
    from django.contrib.auth.models import User

    from customs.models import InspectionDecision
    from customs.roles import officer_group

    officer = User.objects.create_user("officer", password="x-Long-pass-42", is_staff=True)
    officer.groups.add(officer_group())
    client.force_login(officer)
    url = reverse("admin:customs_inspectionqueue_changelist")
    response = client.post(url, {"action": "release", "_selected_action": [held.pk],
                                 "confirm": "yes", "reason": "checked"})  # fmt: skip
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.state == "inspection"  # until the authority's receipt
    decision = InspectionDecision.objects.get(declaration=held)
    assert (decision.decision, decision.state, decision.reason) == ("release", "pending", "checked")


def test_ex_post_rules_run_from_admin_store_hits(admin_client, zone):
    for _ in range(3):
        order = order_filing(zone, delivery_mode="delivery", destination_code=zone.dock.code)
        services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    url = reverse("admin:customs_riskrule_changelist")
    from customs.models import RiskRule

    rule = RiskRule.objects.get(code="missing_freight")
    admin_client.post(url, {"action": "run_now", "_selected_action": [rule.pk]})
    assert RiskHit.objects.filter(rule_code="missing_freight").count() == 3
