"""Provider accounts the webhook tests apply events to."""

from __future__ import annotations

import pytest

from dashboard.models import ProviderAccount


@pytest.fixture
def account(db) -> ProviderAccount:
    return ProviderAccount.objects.create(
        kind="callgear", name="CG", base_url="https://callapi.example.com", callgear_auth="access_key",
        access_key="k", reference_data={"tags": [{"id": 36, "name": "Hot lead"}, {"id": 254, "name": "Relevant"}]})


@pytest.fixture
def ccai_account(db) -> ProviderAccount:
    return ProviderAccount.objects.create(kind="ccai", name="CC", base_url="https://x.example.com/ccai",
                                          company_key="k", company_secret="s")
