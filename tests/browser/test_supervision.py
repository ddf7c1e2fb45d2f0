"""The supervision dashboard in a real browser: every panel with data draws an ECharts chart
(a canvas of non-zero size) from the vendored bundle under the strict CSP, axis ticks are
rounded, dates, numbers and reasons are in the page's language, and 30 days of data spread
across the 30 days. Audited like every page (axe, internal codes, CSP)."""

import datetime as dt
import math
import re

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_CHARTS = """() => {
  const all = [...document.querySelectorAll('[data-chart]')];
  return all.length > 0 && all.every(el => el.dataset.chartReady === '1');
}"""

# What a reader sees of each chart, read back from ECharts itself.
CHARTS = """() => [...document.querySelectorAll('[data-chart]')].map(el => {
  const chart = echarts.getInstanceByDom(el);
  const option = chart.getOption();
  const model = chart.getModel();
  const axes = [];
  for (const kind of ['xAxis', 'yAxis']) {
    (option[kind] || []).forEach((axisOption, i) => {
      const axis = model.getComponent(kind, i).axis;
      axes.push({
        kind, type: axisOption.type, data: axisOption.data || null,
        ticks: axis.type === 'value' ? axis.scale.getTicks().map(t => t.value) : [],
        labels: axis.getViewLabels().map(l => l.formattedLabel),
      });
    });
  }
  const canvas = el.querySelector('canvas');
  return {
    panel: el.closest('section').id,
    width: canvas ? canvas.getBoundingClientRect().width : 0,
    height: canvas ? canvas.getBoundingClientRect().height : 0,
    series: option.series.map(s => ({name: s.name, data: s.data})),
    axes,
  };
})"""


def _nice(ticks: list[float]) -> bool:
    """Ticks step by 1, 2, 3 or 5 times a power of ten and sit on multiples of the step."""
    if len(ticks) < 2:
        return True
    step = ticks[1] - ticks[0]
    if step <= 0:
        return False
    mantissa = step / 10 ** math.floor(math.log10(step))
    if not any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 3, 5, 10)):
        return False
    return all(abs(t / step - round(t / step)) < 1e-6 for t in ticks)


@pytest.fixture
def month_of_data(db):
    from customs.services.rollup import clearance_days_catch_up
    from tests.supervision.factories import AU, DE, clearance, hit, merchants

    merchants()
    # Halfway between the business day's midnight (Asia/Shanghai) and now, then a day earlier
    # each: every one of the 30 days shown gets a row whatever the hour (now minus 5 minutes
    # fell on yesterday in the first minutes after midnight, and the chart then had 29 days).
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = midnight + (now - midnight) / 2
    for day in range(30):
        when = today - dt.timedelta(days=day)
        # Goods values that would give raw ticks like 690.8777778.
        clearance(ebc=AU, created=when, value=f"{123.37 + day * 7.31:.2f}",
                  released_after=dt.timedelta(seconds=40 + day))  # fmt: skip
        if day % 3 == 0:
            clearance(ebc=DE, created=when, value="88.88", state="rejected",
                      reason="CEB621 (customs): 订购人身份信息校验未通过")  # fmt: skip
        if day % 4 == 0:
            clearance(ebc=DE, created=when, value="45.10",
                      held_reason="CEB621 (ciq): manual review (300)")  # fmt: skip
            hit("three_order", ebc=DE, created=when)
            hit("frequent_buyer", ebc=AU, created=when)
    clearance_days_catch_up()  # the past days from the rollup, today live


def _sign_in(page, lang: str) -> None:
    from django.test import Client

    from tests.supervision.factories import platform_user

    client = Client()
    client.force_login(platform_user())
    page.context.add_cookies([
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": page.base_url},
        {"name": "django_language", "value": lang, "url": page.base_url},
    ])  # fmt: skip


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_dashboard_charts_are_readable_in_the_page_language(
    new_page, screenshot, month_of_data, lang
):
    page = new_page(size="desktop", locale="zh-CN" if lang == "zh-hans" else "en-US")
    _sign_in(page, lang)
    page.goto(page.base_url + "/supervision/")
    page.wait_for_function(WAIT_CHARTS)
    screenshot(page, "dashboard")
    charts = page.evaluate(CHARTS)
    drawn = {c["panel"] for c in charts}
    with_data = set(page.eval_on_selector_all(
        "section.chart-panel", "els => els.filter(e => !e.querySelector('.no-data')).map(e => e.id)"
    ))  # fmt: skip
    assert drawn == with_data and {"panel-volume", "panel-rejections", "panel-hits"} <= drawn
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 120, chart["panel"]
        for axis in chart["axes"]:
            assert _nice(axis["ticks"]), (chart["panel"], axis["ticks"])
            for label in axis["labels"]:
                assert not re.search(r"\d[.,]\d{3}\d", label), (chart["panel"], label)
                assert not re.search(r"\.\d{3,}", label), (chart["panel"], label)
    volume = next(c for c in charts if c["panel"] == "panel-volume")
    days = next(a for a in volume["axes"] if a["type"] == "category")["data"]
    counts = volume["series"][0]["data"]
    assert len(days) == 30 and sum(1 for n in counts if n) == 30  # every day, not the last bar
    rejections = next(c for c in charts if c["panel"] == "panel-rejections")
    reasons = next(a for a in rejections["axes"] if a["type"] == "category")["data"]
    hits = {s["name"] for s in next(c for c in charts if c["panel"] == "panel-hits")["series"]}
    money = next(a for a in volume["axes"] if a["type"] == "value" and a["kind"] == "yAxis")
    if lang == "zh-hans":
        assert all("月" in d and "日" in d for d in days), days[:3]
        assert reasons == ["CEB621 来自海关：订购人身份信息校验未通过"]
        assert hits == {"三单比对", "同一身份证购买过于频繁"}
    else:
        assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", d) for d in days), days[:3]
        assert reasons == ["CEB621 from customs: 订购人身份信息校验未通过"]
        assert hits == {"three-order comparison", "one ID buying unusually often"}
    assert money["labels"], "no value axis labels"
    # The side table keeps its words whole (never one character per line).
    narrowest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.table-scroll th')]
            .map(th => th.getBoundingClientRect().width))"""
    )
    assert narrowest > 40


def test_dashboard_on_a_phone(new_page, screenshot, month_of_data):
    page = new_page(size="phone", locale="zh-CN")
    _sign_in(page, "zh-hans")
    page.goto(page.base_url + "/supervision/")
    page.wait_for_function(WAIT_CHARTS)
    screenshot(page, "dashboard")
    charts = page.evaluate(CHARTS)
    assert charts and all(c["width"] > 250 and c["height"] > 120 for c in charts)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, "the dashboard scrolls sideways on a phone"


def test_enterprise_profile_chart_and_reasons_in_chinese(new_page, screenshot, month_of_data):
    from tests.supervision.factories import DE

    page = new_page(size="desktop", locale="zh-CN")
    _sign_in(page, "zh-hans")
    page.goto(page.base_url + f"/supervision/enterprises/{DE}/")
    page.wait_for_function(WAIT_CHARTS)
    screenshot(page, "enterprise")
    (chart,) = page.evaluate(CHARTS.replace("el.closest('section').id", "'monthly'"))
    assert chart["width"] > 200 and all(_nice(a["ticks"]) for a in chart["axes"])
    months = next(a for a in chart["axes"] if a["type"] == "category")["data"]
    assert months and all(re.fullmatch(r"\d{4}年\d{1,2}月", m) for m in months), months
    text = page.inner_text("main")
    assert "CEB621 来自海关：订购人身份信息校验未通过" in text and "三单比对" in text
