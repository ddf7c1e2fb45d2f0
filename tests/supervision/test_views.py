"""The pages: who may see what, every panel scoped for merchant staff, CSV beside each chart,
and an empty range showing "no data"."""

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from tests.marketplace.factories import UserFactory
from tests.supervision.factories import (
    AU,
    DE,
    at,
    clearance,
    hit,
    merchant_user,
    merchants,
    platform_user,
)

pytestmark = pytest.mark.django_db
URL = "/supervision/"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def data():
    au, de = merchants()
    clearance(ebc=AU, created=at(2), value="111.00")
    clearance(ebc=AU, created=at(2), value="1.00", state="rejected", reason="AU only reason")
    clearance(ebc=DE, created=at(3), value="222.00", held_reason="DE only hold")
    clearance(ebc=DE, created=at(3), value="2.00", state="rejected", reason="DE only reason")
    hit("au_rule", ebc=AU, created=at(2))
    hit("de_rule", ebc=DE, created=at(3))
    return au, de


def _csv(client, panel, **params):
    params.pop("HTTP_X", None)
    response = client.get(URL, {**MARCH, **params, "panel": panel, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_anonymous_is_sent_to_sign_in_and_shoppers_are_refused(client, data):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(UserFactory(username="shopper"))
    assert client.get(URL).status_code == 403
    assert client.get("/supervision/enterprises/").status_code == 403


def test_platform_staff_see_every_merchant(client, data):
    client.force_login(platform_user())
    response = client.get(URL, MARCH)
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("AU only reason", "DE only reason", "DE only hold", "au rule", "de rule"):
        assert text in body
    # ECharts from our own static files, the data as JSON, no inline script (strict CSP).
    assert 'src="/static/vendor/echarts/echarts.common.min.js"' in body
    assert 'src="/static/js/supervision_charts.js"' in body
    assert 'id="chart-data-volume" type="application/json"' in body
    assert not re.search(r'<script(?![^>]*\bsrc=)(?![^>]*type="application/json")', body)
    rows = _csv(client, "volume")
    assert (
        rows[0][1:]
        and ["2026-03-02", "2", "112.00"] in rows
        and ["2026-03-03", "2", "224.00"] in rows
    )
    assert [r[0] for r in _csv(client, "top_volume")[1:]] == [AU, DE]


def test_platform_staff_may_filter_one_merchant(client, data):
    client.force_login(platform_user())
    body = client.get(URL, {**MARCH, "merchant": DE}).content.decode()
    assert "DE only reason" in body and "AU only reason" not in body


def test_merchant_staff_see_only_their_merchant_on_every_panel(client, data):
    au, _de = data
    client.force_login(merchant_user(au, "staff-au"))
    # Asking for the other merchant changes nothing: the scope comes from the login.
    response = client.get(URL, {**MARCH, "merchant": DE})
    body = response.content.decode()
    assert response.status_code == 200
    assert "AU only reason" in body and "au rule" in body
    for text in ("DE only reason", "DE only hold", "de rule", "Rhein Dairy"):
        assert text not in body
    volume = _csv(client, "volume", merchant=DE)[1:]
    assert len(volume) == 31  # every day of March, zeros included
    assert [row for row in volume if row[1] != "0"] == [["2026-03-02", "2", "112.00"]]
    assert [r[0] for r in _csv(client, "rejections")[1:]] == ["AU only reason"]
    assert [r[1] for r in _csv(client, "hits")[1:]] == ["au rule"]
    # Cross-merchant panels are not theirs to export.
    for panel in ("top_volume", "top_rejection", "quota"):
        assert client.get(URL, {"panel": panel, "format": "csv"}).status_code == 404


def test_merchant_staff_see_their_own_profile_only(client, data):
    au, _de = data
    client.force_login(merchant_user(au, "staff-au"))
    assert client.get("/supervision/enterprises/").url == f"/supervision/enterprises/{AU}/"
    own = client.get(f"/supervision/enterprises/{AU}/")
    assert own.status_code == 200 and AU in own.content.decode()
    assert client.get(f"/supervision/enterprises/{DE}/").status_code == 404
    assert client.post(f"/supervision/enterprises/{AU}/grade/", {"grade": "A"}).status_code == 404


def test_empty_range_shows_no_data_not_an_error(client, data):
    client.force_login(platform_user())
    response = client.get(URL, {"start": "2020-01-01", "end": "2020-01-31"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="muted no-data"') >= 6
    rows = _csv(client, "rejections", start="2020-01-01", end="2020-01-31", HTTP_X=1)
    assert len(rows) == 1  # the header only


def test_bad_filters_fall_back_to_defaults_with_a_message(client, data):
    client.force_login(platform_user())
    response = client.get(URL, {"start": "2026-03-31", "end": "2026-03-01"})
    assert response.status_code == 200
    assert "error-text" in response.content.decode()
    response = client.get(URL, {"start": "not a date", "bucket": "hour"})
    assert response.status_code == 200


def test_hour_and_month_buckets_render(client, data):
    client.force_login(platform_user())
    for bucket in ("hour", "month"):
        assert client.get(URL, {**MARCH, "bucket": bucket}).status_code == 200
    assert _csv(client, "volume", bucket="month")[1:] == [["2026-03", "4", "336.00"]]


def test_pages_in_english_and_chinese(client, data):
    client.force_login(platform_user())
    zh = client.get(URL, MARCH, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = client.get(URL, MARCH, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Supervision dashboard" in en and "监管" in zh
    assert "Supervision dashboard" not in zh


def test_staff_override_the_grade_from_the_profile(client, data):
    client.force_login(platform_user())
    url = reverse("supervision:enterprise", args=[DE])
    response = client.post(f"{url}grade/", {"grade": "D", "reason": "audit finding"})
    assert response.status_code == 302
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "grade-D" in body and "audit finding" in body
    assert "DE only reason" in body and "de rule" in body and "AU only reason" not in body


def _chart(body: str, key: str) -> dict:
    tag = f'<script id="chart-data-{key}" type="application/json">'
    found = re.search(re.escape(tag) + "(.*?)</script>", body)
    assert found, f"no chart spec for {key}"
    return json.loads(found.group(1))


def test_charts_carry_reasons_and_rules_in_the_page_language(client, data):
    clearance(ebc=AU, created=at(4), state="rejected",
              reason="CEB621 (customs): 订购人身份信息校验未通过")  # fmt: skip
    hit("three_order", ebc=AU, created=at(4))
    client.force_login(platform_user())
    zh = client.get(URL, MARCH, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = client.get(URL, MARCH, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    zh_reasons = _chart(zh, "rejections")["labels"]
    en_reasons = _chart(en, "rejections")["labels"]
    assert "CEB621 来自海关：订购人身份信息校验未通过" in zh_reasons
    assert "CEB621 from customs: 订购人身份信息校验未通过" in en_reasons
    zh_rules = [s["name"] for s in _chart(zh, "hits")["series"]]
    assert "三单比对" in zh_rules and "three_order" not in zh
    assert "three-order comparison" in [s["name"] for s in _chart(en, "hits")["series"]]


def test_volume_chart_spreads_the_days_with_money_to_the_fen(client, data):
    client.force_login(platform_user())
    spec = _chart(client.get(URL, MARCH).content.decode(), "volume")
    assert spec["labelKind"] == "day" and len(spec["labels"]) == 31
    declarations, value = spec["series"]
    assert declarations["data"][1:3] == [2, 2] and sum(declarations["data"]) == 4
    assert value["format"] == "money" and value["axis"] == 1 and value["data"][1] == 112.0
