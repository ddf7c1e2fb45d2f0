from django import forms
from django.utils.translation import gettext_lazy as _


class KioskSignInForm(forms.Form):
    key = forms.CharField(
        label=_("Kiosk key"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
