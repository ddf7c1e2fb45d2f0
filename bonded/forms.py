"""Staff forms for the ledger: they parse and validate; services do the writing."""

from django import forms
from django.utils.translation import gettext_lazy as _

from bonded.models import Location
from bonded.services import StockLine


def parse_lines(text: str) -> list[StockLine]:
    """One line per item: `ITEM_NO QUANTITY` (comma, tab or space separated), as a scanner types."""
    lines, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        raw = raw.strip()
        if not raw:
            continue
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) <= 0:
            problems.append(
                _("Line %(n)s: write the item number and a whole quantity above 0 (GI000001 24).")
                % {"n": number}
            )
            continue
        lines.append(StockLine(item_no=parts[0], quantity=int(parts[1])))
    if problems:
        raise forms.ValidationError(problems)
    if not lines:
        raise forms.ValidationError(_("Enter at least one line."))
    return lines


class ReceiptForm(forms.Form):
    reference = forms.CharField(label=_("Receipt reference"), max_length=64)
    location = forms.ModelChoiceField(
        label=_("Bonded storage location"),
        queryset=Location.objects.filter(kind=Location.Kind.STORAGE, is_active=True),
    )
    entry_declaration_no = forms.CharField(label=_("Entry declaration number"), max_length=64)
    lines = forms.CharField(
        label=_("Lines"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "GI000001 24\nGI000002 12"}),
        help_text=_("One line per item: customs item number and quantity."),
    )

    def clean_lines(self) -> list[StockLine]:
        return parse_lines(self.cleaned_data["lines"])
