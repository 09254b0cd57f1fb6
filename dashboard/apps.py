from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Callboard"

    def ready(self) -> None:
        from dashboard.roles import sync_roles

        # Roles are code: every migrate brings the groups' permissions in line with it.
        post_migrate.connect(sync_roles, dispatch_uid="dashboard.sync_roles")
