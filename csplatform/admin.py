from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from csplatform.models import ApiKey, OutboundEmail, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Preferences", {"fields": ("time_zone", "notification_preferences")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_active", "last_login")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "hashed_key", "created_at", "last_used_at")
    list_select_related = ("user",)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "status", "category", "attempts", "created_at", "sent_at")
    list_filter = ("status", "category")
    search_fields = ("subject", "idempotency_key")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
