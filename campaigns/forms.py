from __future__ import annotations

from typing import Any

from django import forms

from campaigns.models import JOB_STATUSES, Campaign
from dashboard.models import ProviderAccount

DAYS = [("mon", "Mon"), ("tue", "Tue"), ("wed", "Wed"), ("thu", "Thu"), ("fri", "Fri"), ("sat", "Sat"), ("sun", "Sun")]


class CampaignForm(forms.ModelForm):
    """A campaign and its default call policy (CallJobParameters every number inherits)."""

    token = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False, help_text="The campaign's API token from JAICP (Outbound campaigns → Copy API token).",
    )
    allowed_days = forms.MultipleChoiceField(choices=DAYS, required=False, widget=forms.CheckboxSelectMultiple,
                                             help_text="Leave empty to use the campaign's own settings at JAICP.")
    local_time_from = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    local_time_to = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    retry_interval_minutes = forms.IntegerField(required=False, min_value=1, max_value=2880)
    max_attempts = forms.IntegerField(required=False, min_value=1, max_value=50)
    dialer_priority = forms.IntegerField(required=False, min_value=1, max_value=5, help_text="1 highest, 5 lowest.")

    class Meta:
        model = Campaign
        fields = ["account", "name", "token", "push_batch_size"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = ProviderAccount.objects.filter(kind=ProviderAccount.Kind.JAICP, enabled=True)
        self.fields["push_batch_size"].widget.attrs.update(min=1, max=5000)
        policy = self.instance.default_policy if self.instance.pk else {}
        self.initial.setdefault("allowed_days", policy.get("allowedDays", []))
        window = (policy.get("allowedTime") or {}).get("default") or [{}]
        self.initial.setdefault("local_time_from", window[0].get("localTimeFrom"))
        self.initial.setdefault("local_time_to", window[0].get("localTimeTo"))
        self.initial.setdefault("retry_interval_minutes", policy.get("retryIntervalInMinutes"))
        self.initial.setdefault("max_attempts", policy.get("maxAttempts"))
        self.initial.setdefault("dialer_priority", policy.get("dialerPriority"))
        if self.instance.pk:
            self.fields["token"].help_text = "Stored; leave blank to keep it."

    def clean_token(self) -> str:
        token = self.cleaned_data.get("token", "")
        if not token:
            if self.instance.pk:
                return self.instance.token
            raise forms.ValidationError("The campaign's API token is required.")
        return token.strip()

    def clean_push_batch_size(self) -> int:
        size = self.cleaned_data["push_batch_size"]
        if not 1 <= size <= 5000:
            raise forms.ValidationError("Between 1 and 5,000 numbers per addPhones request.")
        return size

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("local_time_from"), data.get("local_time_to")
        if bool(start) != bool(end):
            self.add_error("local_time_to", "Give both ends of the calling window, or neither.")
        elif start and end and start >= end:
            self.add_error("local_time_to", "The window must end after it starts (same day).")
        return data

    def save(self, commit: bool = True) -> Campaign:
        campaign = super().save(commit=False)
        data = self.cleaned_data
        policy: dict[str, Any] = {}
        if data.get("allowed_days"):
            policy["allowedDays"] = list(data["allowed_days"])
        if data.get("local_time_from") and data.get("local_time_to"):
            policy["allowedTime"] = {"default": [{"localTimeFrom": data["local_time_from"].strftime("%H:%M"),
                                                  "localTimeTo": data["local_time_to"].strftime("%H:%M")}]}
        for field, key in (("retry_interval_minutes", "retryIntervalInMinutes"), ("max_attempts", "maxAttempts"),
                           ("dialer_priority", "dialerPriority")):
            if data.get(field) is not None:
                policy[key] = data[field]
        campaign.default_policy = policy
        if commit:
            campaign.save()
        return campaign


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "All statuses"), *JOB_STATUSES], required=False)
    phone = forms.CharField(required=False, max_length=30,
                            widget=forms.TextInput(attrs={"placeholder": "Phone contains…", "inputmode": "tel"}))


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (UTF-8, UTF-16 or Windows-1251; any common delimiter) or XLSX.")
    default_region = forms.CharField(
        max_length=2, required=False,
        help_text="Two-letter country used for numbers written without a country code (e.g. US, RU, GB).")
    recent_days = forms.IntegerField(
        required=False, min_value=1, max_value=365,
        help_text="Also skip numbers pushed to any other campaign in the last N days.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".csv", ".txt", ".tsv", ".xlsx")):
            raise forms.ValidationError("Upload a .csv, .txt, .tsv or .xlsx file.")
        return upload

    def clean_default_region(self) -> str:
        import phonenumbers

        region = (self.cleaned_data.get("default_region") or "").upper()
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(f"{region} is not a country code phonenumbers knows.")
        return region


class MappingForm(forms.Form):
    """Which column is what. Choices come from the detected columns."""

    phone = forms.ChoiceField(label="Phone number column")
    time_zone = forms.ChoiceField(label="Time zone column", required=False,
                                  help_text="Optional: without it, the zone each number implies is used.")
    payload = forms.MultipleChoiceField(label="Payload columns", required=False, widget=forms.CheckboxSelectMultiple,
                                        help_text="Passed to the bot under their header names.")
    default_region = forms.CharField(max_length=2, required=False)
    recent_days = forms.IntegerField(required=False, min_value=1, max_value=365)

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        from campaigns.importing.mapping import POLICY_FIELDS

        super().__init__(*args, **kwargs)
        choices = [(c, c) for c in columns]
        self.fields["phone"].choices = choices
        self.fields["time_zone"].choices = [("", "— none —"), *choices]
        self.fields["payload"].choices = choices
        for name in POLICY_FIELDS:
            self.fields[f"policy_{name}"] = forms.ChoiceField(
                label=f"{name} column", required=False, choices=[("", "— campaign default —"), *choices])

    def mapping(self) -> Any:
        from campaigns.importing.mapping import POLICY_FIELDS, ColumnMapping

        data = self.cleaned_data
        return ColumnMapping(
            phone=data["phone"], time_zone=data.get("time_zone") or None, payload=tuple(data.get("payload") or ()),
            policy={name: data[f"policy_{name}"] for name in POLICY_FIELDS if data.get(f"policy_{name}")},
        )


class DncAddForm(forms.Form):
    phone = forms.CharField(max_length=40, widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+1 650 555 0100"}))
    reason = forms.CharField(max_length=200, required=False)
    region = forms.CharField(max_length=2, required=False, help_text="For numbers without a country code.")

    def clean(self) -> dict[str, Any]:
        import phonenumbers
        from django.conf import settings

        data = super().clean()
        region = (data.get("region") or settings.PHONE_DEFAULT_REGION).upper()
        data["region"] = region
        try:
            number = phonenumbers.parse(data.get("phone") or "", region)
        except phonenumbers.NumberParseException:
            self.add_error("phone", "This is not a phone number.")
            return data
        if not phonenumbers.is_valid_number(number):
            self.add_error("phone", "This is not a valid phone number.")
        data["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return data


class DncImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV or XLSX whose phone column is found the same way as in number lists.")
    region = forms.CharField(max_length=2, required=False)
