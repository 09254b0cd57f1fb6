from __future__ import annotations

from typing import Any

from django import forms

from dashboard.models import ProviderAccount


class SecretInput(forms.PasswordInput):
    """Never renders the stored value back; shows whether one is set instead."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, render_value=False)


class ProviderAccountForm(forms.ModelForm):
    """Secret fields are write-only: left blank they keep what is stored."""

    class Meta:
        model = ProviderAccount
        fields = [
            "kind", "name", "base_url", "is_sandbox", "enabled",
            "callgear_auth", "login", "password", "access_key",
            "company_key", "company_secret", "webhook_secret", "reference_data",
        ]
        widgets = {name: SecretInput() for name in ProviderAccount.SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ProviderAccount.SECRET_FIELDS:
            field = self.fields[name]
            field.required = False
            is_set = bool(self.instance.pk and getattr(self.instance, name))
            field.help_text = "Stored; leave blank to keep it." if is_set else "Not set."
            field.widget.attrs["autocomplete"] = "new-password"
            field.widget.attrs["placeholder"] = "••••••••" if is_set else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ProviderAccount.SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        if not data.get("webhook_secret"):
            data.pop("webhook_secret", None)  # the model's default generates one
        kind = data.get("kind")
        if kind == ProviderAccount.Kind.CALLGEAR:
            auth = data.get("callgear_auth")
            if auth == ProviderAccount.CallGearAuth.LOGIN and not (data.get("login") and data.get("password")):
                self.add_error("login", "Login-and-password accounts need both.")
            elif auth == ProviderAccount.CallGearAuth.ACCESS_KEY and not data.get("access_key"):
                self.add_error("access_key", "Give the permanent access key.")
            elif not auth:
                self.add_error("callgear_auth", "Choose how this account signs in.")
        if kind == ProviderAccount.Kind.CCAI and not (data.get("company_key") and data.get("company_secret")):
            self.add_error("company_key", "CCAI accounts need the company key and secret.")
        return data
