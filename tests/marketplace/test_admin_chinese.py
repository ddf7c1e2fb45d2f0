"""The admin in Chinese is Chinese: walk every changelist (and the index) as a superuser in
zh-hans and fail on any English word left in what staff read: model names and plurals, page
titles, column headers, filter titles and filter choices (states, kinds, reasons)."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from lxml import html

from bonded.models import Warehouse
from marketplace.models import Merchant
from tests.marketplace.factories import UserFactory
from tests.marketplace.support import place

pytestmark = pytest.mark.django_db

# Latin letters that are not English words: codes and standard abbreviations staff know.
ALLOWED = {"ID", "HS", "EMS", "CEB", "QR", "URL", "API", "SKU", "Bondport", "CSV", "CIQ",
           "ebcCode", "GS", "PDF", "SVG"}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def english(text: str, data: frozenset[str] = frozenset()) -> list[str]:
    for value in data:  # names people gave things (merchants, warehouses) are not labels
        text = text.replace(value, "")
    plural_s = re.findall(r"[\u4e00-\u9fff]s\b", text)  # "仓库s": a missing verbose_name_plural
    text = re.sub(r"\b[A-Z0-9][A-Z0-9_-]*\b", "", text)  # codes: CEB311, CW-A, AU, LOSS
    text = re.sub(r"\b[a-z]+[A-Z]\w*\b|\b\d+xx\b", "", text)  # message fields: emsNo; 5xx
    return plural_s + [w for w in WORD.findall(text) if w not in ALLOWED]


def read(tree, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in tree.xpath(xpath)]


@pytest.fixture
def superuser_zh(client, world):
    place(world, (world.paste, 1), (world.milk, 1))
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.cookies["django_language"] = "zh-hans"
    return client


def test_admin_changelists_in_chinese_have_no_english_labels(superuser_zh):
    problems: dict[str, list[str]] = {}
    data = frozenset(
        [*Merchant.objects.values_list("name", flat=True),
         *Warehouse.objects.values_list("name", flat=True)]
    )  # fmt: skip
    index = html.fromstring(superuser_zh.get(reverse("admin:index")).content.decode())
    for label in read(index, "//div[@id='content-main']//caption | //div[@id='content-main']//th"):
        if english(label):
            problems.setdefault("index", []).append(label)
    for model, _model_admin in sorted(admin.site._registry.items(), key=lambda m: m[0]._meta.label):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = superuser_zh.get(url)
        assert response.status_code == 200, url
        tree = html.fromstring(response.content.decode())
        texts = (
            read(tree, "//title | //h1")
            + read(tree, "//table[@id='result_list']/thead//th")
            + read(tree, "//nav[@id='changelist-filter']//h3 | //div[@id='changelist-filter']//h3")
            + read(tree, "//nav[@id='changelist-filter']//li | //div[@id='changelist-filter']//li")
            + read(tree, "//select[@name='action']/option")
        )
        found = [t for t in texts if english(t, data)]
        if found:
            problems[opts.label] = sorted(set(found))
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_stocktake_lines_pick_the_item_by_search_for_the_warehouse_operator(client, world):
    """The demo's warehouse operator counts a location: the line's item is a search box
    (admin autocomplete), not a dropdown of every goods item, and the search finds the item."""
    from demo.seed import seed_staff

    seed_staff()
    client.login(username="warehouse", password="bondport-demo")
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("admin:bonded_stocktake_add"))
    assert page.status_code == 200
    tree = html.fromstring(page.content.decode())
    [item_select] = tree.xpath("//select[@name='lines-0-item']")
    assert "admin-autocomplete" in item_select.get("class", "")
    assert len(item_select.xpath("option")) <= 1  # no list of every goods item in the page
    found = client.get(
        reverse("admin:autocomplete"),
        {"term": "PASTE", "app_label": "bonded", "model_name": "stocktakeline",
         "field_name": "item"},
    )  # fmt: skip
    assert found.status_code == 200
    assert [r["text"] for r in found.json()["results"]] == [str(world.paste.item)]
