"""Every user-facing string has a Chinese translation, and the committed .mo matches the .po."""

import ast
import gettext

from tests.support import BASE_DIR

LOCALE = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries(*, with_context: bool = False) -> list:
    """(msgid, msgstr) pairs of the .po file (msgstr[0] for plurals); with_context, triples
    (msgctxt or None, msgid, msgstr)."""
    entries, current, field, context = [], None, None, None
    for line in (LOCALE / "django.po").read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context = ast.literal_eval(line[8:])
        elif line.startswith("msgid "):
            current = {"id": ast.literal_eval(line[6:]), "str": "", "ctx": context}
            context = None
            entries.append(current)
            field = "id"
        elif line.startswith("msgid_plural "):
            field = None
        elif line.startswith(("msgstr ", "msgstr[0] ")):
            current["str"] = ast.literal_eval(line.split(" ", 1)[1])
            field = "str"
        elif line.startswith("msgstr["):
            field = None
        elif line.startswith('"') and field:
            current[field] += ast.literal_eval(line)
        elif not line.strip():
            field = None
    if with_context:
        return [(e["ctx"], e["id"], e["str"]) for e in entries if e["id"]]
    return [(e["id"], e["str"]) for e in entries if e["id"]]


def test_every_string_in_the_po_file_is_translated():
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    untranslated = [msgid for msgid, msgstr in po_entries() if not msgstr]
    assert untranslated == []


def test_compiled_mo_is_up_to_date_with_the_po():
    with (LOCALE / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    stale = [
        (context, msgid)
        for context, msgid, msgstr in po_entries(with_context=True)
        if (catalog.pgettext(context, msgid) if context else catalog.gettext(msgid)) != msgstr
        and "%(n)s" not in msgid
    ]
    assert stale == []


def _source_strings() -> set[str]:
    """gettext strings of the marketplace code and its templates (single-form ones)."""
    import re

    found: set[str] = set()
    for path in (BASE_DIR / "marketplace").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in {"_", "gettext", "gettext_lazy"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    for path in (BASE_DIR / "templates" / "marketplace").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        found.update(m[1] for m in re.findall(r"{% translate (['\"])(.*?)\1", text))
        for body in re.findall(
            r"{% blocktranslate(?! count)[^%]*%}(.*?){% endblocktranslate %}", text
        ):
            body = body.replace("%", "%%")  # as makemessages writes a literal % here
            found.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", body))
    return found


def test_every_marketplace_string_is_in_the_po_file_and_translated():
    translated = {msgid for msgid, msgstr in po_entries() if msgstr}
    missing = sorted(s for s in _source_strings() if s and s not in translated)
    assert missing == []
