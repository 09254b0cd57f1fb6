from django.urls import path

from livecalls import views

urlpatterns = [
    path("", views.wall, name="wall"),
]

webhook_urlpatterns = [
    path("<int:account_id>/", views.webhook, name="webhook"),
]
