from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csplatform import services
from csplatform.choices import EmailStatus
from csplatform.models import ApiKey, OutboundEmail, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("time_zone", "notification_preferences")}),
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
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from email_enqueue only; a hand-made row would bypass rendering.
        return False

    @admin.action(description=_("Retry the selected failed emails"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        count = 0
        for email in queryset.filter(status=EmailStatus.FAILED):
            services.email_retry(email=email)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
