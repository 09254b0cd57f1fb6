from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_is_public_and_checks_database_and_channel_layer():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_failed_part(monkeypatch):
    import dashboard.health

    monkeypatch.setattr(dashboard.health, "get_channel_layer", lambda: None)
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["channel_layer"].startswith("failed")
