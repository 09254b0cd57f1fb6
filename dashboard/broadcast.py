"""Sending rendered fragments to browsers, after the transaction that changed the data
commits (a browser must never see state that is then rolled back).

Where a fragment differs by permission (a control bar), the sender renders each variant
once and every connection picks the one its user may see: no rendering per connection.
"""

from __future__ import annotations

from collections.abc import Mapping

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def send_html(group: str, html: str, *, variants: Mapping[str, str] | None = None) -> None:
    """``variants`` maps a permission codename to the html its holders get instead."""
    message = {"type": "html.push", "html": html}
    if variants:
        message["variants"] = dict(variants)

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)


def perms_context(*codenames: str) -> dict[str, dict[str, dict[str, bool]]]:
    """A stand-in for the template ``perms`` of a user holding exactly these permissions."""
    return {"perms": {"dashboard": dict.fromkeys(codenames, True)}}
