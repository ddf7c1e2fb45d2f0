"""The browser suite's own checks can fail: a page with a nameless button (axe-core, critical),
an untranslated state code, or an inline script (refused by our CSP) is reported."""

import pytest

from tests.browser.conftest import VIEWPORTS, internal_codes, visible_codes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSP = "default-src 'self'; script-src 'self'; style-src 'self'"


def serve(page, html: str, lang: str = "zh-hans") -> None:
    """Answer /checks/ with the given body under our strict policy, then open it."""
    body = (
        f'<!doctype html><html lang="{lang}"><head><title>t</title></head>'
        f"<body><main>{html}</main></body></html>"
    )
    page.route(
        "**/checks/",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body=body,
            headers={"Content-Security-Policy": CSP},
        ),
    )  # fmt: skip
    page.goto(page.base_url + "/checks/")


def test_axe_fails_a_button_without_a_name(page, screenshot):
    serve(page, '<form><button type="submit"></button></form>')
    with pytest.raises(AssertionError, match="button-name"):
        screenshot(page, "nameless-button")


def test_a_state_code_on_a_chinese_page_fails(page, screenshot):
    serve(page, "<p>海关通关: filing</p>")
    with pytest.raises(AssertionError, match=r"internal codes.*'filing'"):
        screenshot(page, "raw-code-zh")


def test_a_lowercase_state_on_an_english_page_fails_but_prose_does_not(page):
    codes = internal_codes()
    assert {"placed", "filing", "released"} <= set(codes)
    serve(page, "<table><tr><td>BP1</td><td>placed</td></tr></table>", lang="en")
    assert visible_codes(page, codes) == ["placed"]
    page.unroute("**/checks/")
    serve(page, "<p>Your order was placed and released by customs.</p><p>Placed</p>", lang="en")
    assert visible_codes(page, codes) == []
    page.audit.audited.add(page.url)


def test_an_inline_script_is_a_csp_violation(page, screenshot):
    page.set_viewport_size(VIEWPORTS["phone"])
    serve(page, "<p>ok</p><script>document.title = 'x'</script>")
    with pytest.raises(AssertionError, match="CSP violations"):
        screenshot(page, "inline-script")
    page.audit.csp.clear()  # seen: the page's teardown check must not report it again
