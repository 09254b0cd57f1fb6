from django.urls import include, path

from livecalls import views

urlpatterns = [
    path("", views.wall, name="wall"),
    path("history/", views.history, name="call-history"),
    path("<int:pk>/", views.session_detail, name="call-session"),
    path("start/", include("livecalls.urls_start")),
    path("", include("livecalls.urls_actions")),
]

webhook_urlpatterns = [
    path("<int:account_id>/", views.webhook, name="webhook"),
]
