"""Every user-facing string has a Chinese translation, and the committed .mo matches the .po."""

import ast
import gettext

from tests.support import BASE_DIR

LOCALE = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries() -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of the .po file (msgstr[0] for plurals)."""
    entries, current, field = [], None, None
    for line in (LOCALE / "django.po").read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current = {"id": ast.literal_eval(line[6:]), "str": ""}
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
        msgid
        for msgid, msgstr in po_entries()
        if catalog.gettext(msgid) != msgstr and "%(n)s" not in msgid
    ]
    assert stale == []
