from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/providers/", views.provider_accounts, name="provider-accounts"),
    path("audit/", views.audit_log, name="audit-log"),
    path("campaigns/", include("campaigns.urls")),
    path("calls/", include("livecalls.urls")),
    path("admin/", admin.site.urls),
]
