"""Included under ``/calls/start/``."""

from __future__ import annotations

from django.urls import path

from livecalls import views_start

urlpatterns = [
    path("", views_start.call_start_page, name="call-start"),
]
