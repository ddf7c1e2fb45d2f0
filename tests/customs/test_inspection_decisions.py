"""Inspection decisions belong to customs: only a customs officer records one, it goes to the
authority (the real sandbox process over HTTP), and the declaration moves only when the
authority's receipt comes back. An unacknowledged decision is never dropped: it stays listed
with its attempts and last error and the sweep sends it again; a refusal is shown to staff."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from customs import selectors, services, tasks
from customs.errors import GatewayUnavailable, NotCustomsOfficer
from customs.models import Declaration, InspectionDecision
from customs.roles import officer_group
from customs.services.sweep import sweep
from tests.customs.factories import order_filing, payment_filing, waybill_filing
from tests.customs.support import drive

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-test-pass-42"


def _user(username: str, *, superuser: bool = False):
    from django.contrib.auth.models import User

    maker = User.objects.create_superuser if superuser else User.objects.create_user
    return maker(username, f"{username}@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def officer():
    user = _user("officer")
    user.groups.add(officer_group())
    return user


@pytest.fixture
def platform_staff():
    """Platform staff with every customs model permission there is, the decision's excepted."""
    user = _user("platform")
    group, _ = Group.objects.get_or_create(name="Platform staff")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="customs").exclude(
            codename="record_inspection_decision"
        )
    )
    user.groups.add(group)
    return user


@pytest.fixture
def held(zone, sandbox):
    """An inventory list the authority holds for inspection (500), held here too."""
    sandbox.control(inspection_rate=1.0)
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    drive(order.order_no, until=("held",))
    decl = selectors.inspection_queue().get(order_no=order.order_no, authority="customs")
    assert sandbox.records(order.order_no)["customs:CEB621"]["status"] == 500
    return decl


def _state(decl) -> tuple[str, str]:
    decl.refresh_from_db()
    return decl.state, selectors.order_clearance(decl.order_no).state


def test_platform_staff_merchant_staff_and_a_superuser_cannot_decide(
    held, sandbox, platform_staff, client
):
    merchant = _user("merchant")
    superuser = _user("root", superuser=True)
    for user in (platform_staff, merchant, superuser):
        with pytest.raises(NotCustomsOfficer) as refused:
            services.inspection_decision_record(
                declaration_id=held.pk, decision="release", reason="looks fine", officer=user
            )
        assert refused.value.http_status == 403
        assert refused.value.code == "customs_not_officer"
    # In the admin the actions are not offered, and posting one anyway decides nothing.
    client.force_login(platform_staff)
    url = reverse("admin:customs_inspectionqueue_changelist")
    page = client.get(url)
    assert page.status_code == 200 and held.order_no in page.content.decode()
    assert 'value="release"' not in page.content.decode()
    client.post(url, {"action": "release", "_selected_action": [held.pk], "confirm": "yes",
                      "reason": "looks fine"})  # fmt: skip
    assert not InspectionDecision.objects.exists()
    assert _state(held) == ("inspection", "held")
    assert sandbox.records(held.order_no)["customs:CEB621"]["status"] == 500


def test_an_officers_release_moves_nothing_until_the_authoritys_receipt(
    held, sandbox, officer, client, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    url = reverse("admin:customs_inspectionqueue_changelist")
    # The action first asks for confirmation and a reason; nothing is recorded yet.
    page = client.post(url, {"action": "release", "_selected_action": [held.pk]})
    text = page.content.decode()
    assert page.status_code == 200 and held.order_no in text and 'name="reason"' in text
    assert not InspectionDecision.objects.exists()
    page = client.post(url, {"action": "release", "_selected_action": [held.pk], "confirm": "yes",
                             "reason": "  "})  # fmt: skip
    assert page.status_code == 200 and not InspectionDecision.objects.exists()

    confirmed = {"action": "release", "_selected_action": [held.pk], "confirm": "yes",
                 "reason": "seal intact, goods as listed"}  # fmt: skip
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(url, confirmed)
    assert response.status_code == 302 and len(sent) == 1  # the send, after the commit
    decision = InspectionDecision.objects.get()
    assert (decision.decision, decision.state, decision.officer) == ("release", "pending", officer)
    assert decision.reason == "seal intact, goods as listed"
    # Recorded, not applied: no receipt of ours, the declaration and the order still held.
    assert _state(held) == ("inspection", "held")
    assert not held.receipts.filter(return_status=800).exists()

    assert services.inspection_decision_send(decision_id=decision.pk) == "acknowledged"
    decision.refresh_from_db()
    assert decision.state == "acknowledged" and decision.attempts == 1
    theirs = sandbox.records(held.order_no)["customs:CEB621"]
    assert theirs["status"] == 800 and "seal intact, goods as listed" in theirs["info"]
    assert _state(held) == ("inspection", "held")  # acknowledged, but no receipt yet

    services.receipts_poll(authority="customs")
    assert _state(held) == ("released", "released")
    receipt = held.receipts.get(return_status=800)
    assert receipt.source == "poll" and receipt.outcome == "applied"
    assert selectors.order_clearance(held.order_no).goods_released


def test_with_the_authority_down_the_decision_survives_the_retries_and_the_sweep_resends_it(
    held, sandbox, officer, settings, admin_client
):
    settings.CUSTOMS_MAX_RETRIES = 0  # the task gives up at once, as after its last retry
    decision = services.inspection_decision_record(
        declaration_id=held.pk, decision="release", reason="documents checked", officer=officer
    )
    sandbox.control(outage=True)
    assert tasks.inspection_decision_send.apply(kwargs={"decision_id": decision.pk}).get() == (
        "pending"
    )
    with pytest.raises(GatewayUnavailable):
        services.inspection_decision_send(decision_id=decision.pk)
    sweep(now=decision.created_at)  # the authority is still down: counted, kept
    decision.refresh_from_db()
    assert decision.state == "pending" and decision.attempts == 3
    assert "503" in decision.last_error
    assert _state(held) == ("inspection", "held")
    assert sandbox.records(held.order_no)["customs:CEB621"]["status"] == 500
    # Staff see it among the unacknowledged decisions, with its attempts and last error.
    page = admin_client.get(
        reverse("admin:customs_inspectiondecision_changelist"), {"state__exact": "pending"}
    )
    text = page.content.decode()
    assert held.order_no in text and "documents checked" in text and "HTTP 503" in text

    sandbox.control(outage=False)
    report = sweep(now=decision.created_at)
    assert report["decisions"]["acknowledged"] == 1
    decision.refresh_from_db()
    assert decision.state == "acknowledged" and decision.attempts == 4
    assert decision.last_error == ""
    assert sandbox.records(held.order_no)["customs:CEB621"]["status"] == 800
    assert drive(held.order_no).state == "released"


def test_a_refusal_by_the_authority_is_shown_to_staff(held, sandbox, officer, admin_client):
    first = services.inspection_decision_record(
        declaration_id=held.pk, decision="release", reason="all in order", officer=officer
    )
    assert services.inspection_decision_send(decision_id=first.pk) == "acknowledged"
    # Before its receipt arrives here, a second officer rejects: the authority has released.
    second = services.inspection_decision_record(
        declaration_id=held.pk, decision="reject", reason="label mismatch", officer=officer
    )
    assert services.inspection_decision_send(decision_id=second.pk) == "refused"
    second.refresh_from_db()
    assert second.state == "refused" and "not held for inspection" in second.last_error
    assert sandbox.records(held.order_no)["customs:CEB621"]["status"] == 800
    queue = admin_client.get(
        reverse("admin:customs_inspectionqueue_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "refused by the authority" in queue and "not held for inspection" in queue
    listed = admin_client.get(
        reverse("admin:customs_inspectiondecision_changelist"), {"state__exact": "refused"}
    ).content.decode()
    assert "label mismatch" in listed and "HTTP 409" in listed
    assert "监管部门已拒绝" in listed  # the staff's language: Chinese by default
    # The refusal changed nothing here; the authority's release does, once it is read.
    assert drive(held.order_no).state == "released"
    assert Declaration.objects.get(pk=held.pk).state == "released"


def test_a_second_decision_waits_for_the_first_to_be_answered(held, officer):
    services.inspection_decision_record(
        declaration_id=held.pk, decision="release", reason="ok", officer=officer
    )
    from customs.errors import DecisionPending

    with pytest.raises(DecisionPending):
        services.inspection_decision_record(
            declaration_id=held.pk, decision="reject", reason="changed my mind", officer=officer
        )
    assert InspectionDecision.objects.count() == 1
