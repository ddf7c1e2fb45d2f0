import pytest
from django.contrib.auth.models import User

from bonded.models import AccountBookRecord, Balance, Move, Stocktake
from bonded.services import StockLine, stock_reserve

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw-unused-123")
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read the English messages
    return client


def test_receipt_form_receives_stock_under_an_entry_declaration(staff, zone):
    response = staff.post(
        "/admin/bonded/move/receive/",
        {
            "reference": "RCV-ADMIN-1",
            "location": zone.storage.pk,
            "entry_declaration_no": "ENTRY-77",
            "lines": f"{zone.items[0].item_no} 5\n{zone.items[1].item_no},7\n",
        },
    )
    assert response.status_code == 302
    assert Balance.objects.get(item=zone.items[1], location=zone.storage).on_hand == 17
    assert Move.objects.filter(reference="RCV-ADMIN-1").count() == 2


def test_receipt_form_names_each_bad_line_and_writes_nothing(staff, zone):
    response = staff.post(
        "/admin/bonded/move/receive/",
        {
            "reference": "RCV-ADMIN-2",
            "location": zone.storage.pk,
            "entry_declaration_no": "ENTRY-78",
            "lines": f"{zone.items[0].item_no} 5\n{zone.items[1].item_no} 1.5\nUNKNOWN",
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Line 2" in text and "Line 3" in text
    chinese = staff.post(
        "/admin/bonded/move/receive/",
        {"reference": "R", "location": zone.storage.pk, "entry_declaration_no": "E", "lines": "X"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "第 1 行" in chinese.content.decode()
    assert not Move.objects.filter(reference="RCV-ADMIN-2").exists()


def test_receipt_form_reports_an_unknown_item_from_the_service(staff, zone):
    response = staff.post(
        "/admin/bonded/move/receive/",
        {
            "reference": "RCV-ADMIN-3",
            "location": zone.storage.pk,
            "entry_declaration_no": "ENTRY-79",
            "lines": "NOPE 5",
        },
    )
    assert response.status_code == 200
    assert "NOPE" in response.content.decode()
    assert not Move.objects.filter(reference="RCV-ADMIN-3").exists()


def test_moves_and_balances_cannot_be_edited_in_admin(staff, zone):
    move = Move.objects.first()
    assert staff.get(f"/admin/bonded/move/{move.pk}/change/").status_code == 200  # view only
    assert staff.post(f"/admin/bonded/move/{move.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Move.objects.filter(pk=move.pk).exists()
    assert staff.get("/admin/bonded/move/add/").status_code == 403
    assert staff.get("/admin/bonded/balance/add/").status_code == 403


def test_balance_list_filters_low_stock_and_merchant(staff, zone, settings):
    settings.BONDED_LOW_STOCK_THRESHOLD = 5
    stock_reserve(
        reference="BP1", location_code="ZZ-A", lines=[StockLine(zone.items[0].item_no, 9)]
    )
    response = staff.get("/admin/bonded/balance/", {"level": "low"})
    assert response.context["cl"].result_count == 1
    response = staff.get("/admin/bonded/balance/", {"level": "out"})
    assert response.context["cl"].result_count == 0
    response = staff.get("/admin/bonded/balance/", {"owner": "4101960001"})
    assert response.context["cl"].result_count == 3
    response = staff.get("/admin/bonded/balance/", {"owner": "4101960002"})
    assert response.context["cl"].result_count == 0


def test_stocktake_flow_counts_reviews_and_posts_with_a_reason(staff, zone):
    response = staff.post(
        "/admin/bonded/stocktake/add/",
        {
            "reference": "ST-ADMIN",
            "location": zone.storage.pk,
            "reason": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-item": zone.items[0].pk,
            "lines-0-counted": "8",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    stocktake = Stocktake.objects.get(reference="ST-ADMIN")
    assert stocktake.lines.get().counted == 8
    page = staff.get(f"/admin/bonded/stocktake/{stocktake.pk}/change/").content.decode()
    assert "-2" in page  # the difference is shown before posting

    staff.post(
        "/admin/bonded/stocktake/",
        {"action": "post_adjustments", "_selected_action": [stocktake.pk]},
    )
    stocktake.refresh_from_db()
    assert stocktake.state == "open"  # no reason yet: refused

    Stocktake.objects.filter(pk=stocktake.pk).update(reason="damaged in storage")
    staff.post(
        "/admin/bonded/stocktake/",
        {"action": "post_adjustments", "_selected_action": [stocktake.pk]},
    )
    stocktake.refresh_from_db()
    assert stocktake.state == "posted"
    assert Balance.objects.get(item=zone.items[0], location=zone.storage).on_hand == 8

    response = staff.get("/admin/bonded/accountbookrecord/")
    assert "differs by -2" in response.content.decode()
    assert AccountBookRecord.objects.get(item=zone.items[0]).balance == 10
