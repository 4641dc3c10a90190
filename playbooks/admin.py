from django.contrib import admin

from playbooks.models import (
    Notification,
    PlaybookStep,
    PlaybookTemplate,
    Rule,
    RuleAction,
    RuleCooldown,
    RuleMatch,
    RuleRun,
    WebhookDelivery,
    WebhookEndpoint,
)


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0
    fields = ("position", "title", "kind", "priority", "due_days", "assignee_role", "assignee")
    raw_id_fields = ("assignee",)


@admin.register(PlaybookTemplate)
class PlaybookTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "updated_at")
    search_fields = ("name",)
    inlines = [PlaybookStepInline]


class RuleActionInline(admin.TabularInline):
    model = RuleAction
    extra = 0
    fields = ("position", "kind", "params", "playbook", "endpoint")


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("name", "trigger", "mode", "cooldown_days", "last_run_at")
    list_filter = ("mode", "trigger")
    search_fields = ("name",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("last_run_at", "created_at", "updated_at")
    inlines = [RuleActionInline]


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin):
    list_display = ("rule", "started_at", "source", "dry_run", "matched", "fired", "failed")
    list_filter = ("source", "dry_run")
    list_select_related = ("rule",)
    date_hierarchy = "started_at"
    raw_id_fields = ("rule",)


@admin.register(RuleMatch)
class RuleMatchAdmin(admin.ModelAdmin):
    list_display = ("run", "account", "reason", "outcome")
    list_filter = ("outcome",)
    list_select_related = ("run__rule", "account")
    raw_id_fields = ("run", "account")


@admin.register(RuleCooldown)
class RuleCooldownAdmin(admin.ModelAdmin):
    list_display = ("rule", "account", "fired_at", "reason_key")
    list_select_related = ("rule", "account")
    raw_id_fields = ("rule", "account")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "format", "is_active", "consecutive_failures", "disabled_at")
    list_filter = ("format", "is_active")
    search_fields = ("name", "url")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("endpoint", "event", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
    search_fields = ("idempotency_key",)
    raw_id_fields = ("endpoint", "account")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "title", "created_at", "read_at")
    list_filter = ("read_at",)
    list_select_related = ("user",)
    search_fields = ("title",)
    raw_id_fields = ("user", "account")
