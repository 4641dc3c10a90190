from django.contrib import admin

from qbr.models import BatchJob, CadenceOverride, Qbr, QbrNextStep, TemperatureCheck


class NextStepInline(admin.TabularInline):
    model = QbrNextStep
    extra = 0
    fields = ("position", "text", "side", "assignee", "due_date", "task")
    raw_id_fields = ("assignee", "task")


@admin.register(Qbr)
class QbrAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "kind",
        "status",
        "period_start",
        "period_end",
        "scheduled_at",
        "held_on",
    )
    list_filter = ("kind", "status", "is_first")
    search_fields = ("account__name",)
    date_hierarchy = "period_end"
    raw_id_fields = (
        "account",
        "owner",
        "created_by",
        "first_qbr_task",
        "attendee_contacts",
        "attendee_users",
    )
    list_select_related = ("account",)
    inlines = [NextStepInline]


@admin.register(CadenceOverride)
class CadenceOverrideAdmin(admin.ModelAdmin):
    list_display = ("account", "cadence", "until", "reason", "set_by", "updated_at")
    list_filter = ("cadence",)
    raw_id_fields = ("account", "set_by")
    list_select_related = ("account", "set_by")


@admin.register(TemperatureCheck)
class TemperatureCheckAdmin(admin.ModelAdmin):
    list_display = ("account", "quarter", "contact", "sent_at")
    raw_id_fields = ("account", "contact")
    list_select_related = ("account", "contact")


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "created_by",
        "status",
        "format",
        "kind",
        "done",
        "total",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "format")
    readonly_fields = ("account_ids", "errors")
