from django.urls import path

from livecalls import views

urlpatterns = [
    path("", views.wall, name="wall"),
]
