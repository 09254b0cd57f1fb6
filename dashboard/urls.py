from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views
from livecalls.urls import webhook_urlpatterns

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/providers/", views.provider_accounts, name="provider-accounts"),
    path("settings/providers/<int:pk>/check/", views.provider_account_check, name="provider-account-check"),
    path("settings/providers/<int:pk>/webhook-target/", views.provider_account_webhook_target,
         name="provider-account-webhook-target"),
    path("settings/providers/<int:pk>/templates/", views.provider_account_templates, name="provider-account-templates"),
    path("audit/", views.audit_log, name="audit-log"),
    path("campaigns/", include("campaigns.urls")),
    path("calls/", include("livecalls.urls")),
    path("hooks/", include(webhook_urlpatterns)),
    path("admin/", admin.site.urls),
]
