"""Call-control URLs, included under ``calls/``: one POST per action."""

from __future__ import annotations

from django.urls import path

from livecalls import views_actions as v

urlpatterns = [
    path("<int:pk>/controls/", v.call_controls, name="call-controls"),
    path("<int:pk>/hold/", v.call_hold, name="call-hold"),
    path("<int:pk>/unhold/", v.call_unhold, name="call-unhold"),
    path("<int:pk>/consult/", v.call_consult, name="call-consult"),
    path("<int:pk>/transfer/", v.call_transfer, name="call-transfer"),
    path("<int:pk>/restore/", v.call_restore, name="call-restore"),
    path("<int:pk>/tag/", v.call_tag, name="call-tag"),
    path("<int:pk>/record/", v.call_record, name="call-record"),
    path("<int:pk>/dtmf/", v.call_dtmf, name="call-dtmf"),
    path("<int:pk>/talk-options/", v.call_talk_options, name="call-talk-options"),
    path("<int:pk>/talk-option/", v.call_talk_option, name="call-talk-option"),
    path("<int:pk>/disconnect/", v.call_disconnect, name="call-disconnect"),
    path("<int:pk>/release/", v.call_release, name="call-release"),
    path("<int:pk>/block/", v.call_block, name="call-block"),
    path("<int:pk>/coach/", v.call_coach, name="call-coach"),
    path("<int:pk>/flags/", v.call_flags_update, name="call-flags"),
    path("<int:pk>/flags/refresh/", v.call_flags_refresh, name="call-flags-refresh"),
]
