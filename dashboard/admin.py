from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from dashboard.forms import ProviderAccountForm
from dashboard.models import AgentProfile, AuditEntry, ProviderAccount

admin.site.site_header = "Callboard administration"
admin.site.site_title = "Callboard admin"


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = ["name", "kind", "base_url", "is_sandbox", "enabled", "credentials"]
    list_filter = ["kind", "is_sandbox", "enabled"]
    search_fields = ["name", "base_url"]
    fieldsets = [
        (None, {"fields": ["kind", "name", "base_url", "is_sandbox", "enabled"]}),
        ("CallGear", {"fields": ["callgear_auth", "login", "password", "access_key"]}),
        ("CCAI Platform", {"fields": ["company_key", "company_secret"]}),
        ("Webhooks", {"fields": ["webhook_secret"]}),
        ("Reference data for call controls", {"fields": ["reference_data"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Secrets")
    def credentials(self, obj: ProviderAccount) -> str:
        present = [name.replace("_", " ") for name in ProviderAccount.SECRET_FIELDS if obj.has_secret(name)]
        return ", ".join(present) + " set" if present else "none set"


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    extra = 0
    max_num = 1


admin.site.unregister(User)


@admin.register(User)
class CallboardUserAdmin(UserAdmin):
    inlines = [AgentProfileInline]
    list_display = ["username", "get_full_name", "email", "roles", "is_active"]

    @admin.display(description="Role")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "—"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "action", "target", "result", "provider_mnemonic", "latency_ms"]
    list_filter = ["result", "action"]
    search_fields = ["action", "target", "message"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
