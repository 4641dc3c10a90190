from django.contrib import admin

from metrics.models import (
    EndUser,
    Event,
    Feature,
    FeatureEvent,
    MetricSnapshot,
    MrrMovement,
    Source,
    SurveyResponse,
    SurveySchedule,
    SurveySend,
    Ticket,
)
from metrics.models.feedback import FeedbackImport


class FeatureEventInline(admin.TabularInline):
    model = FeatureEvent
    extra = 1


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "release_date", "is_core", "is_key")
    list_filter = ("is_core", "is_key")
    inlines = [FeatureEventInline]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "write_key_prefix", "created_at", "last_seen_at", "revoked_at")
    readonly_fields = ("write_key_prefix", "write_key_hash", "created_at", "last_seen_at")


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ("external_id", "email", "account", "first_seen_at", "last_seen_at")
    search_fields = ("external_id", "email")
    raw_id_fields = ("account",)
    list_select_related = ("account",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("type", "name", "account", "user_id", "timestamp")
    list_filter = ("type",)
    raw_id_fields = ("account", "end_user", "source")
    list_select_related = ("account",)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("subject", "account", "priority", "status", "opened_at", "resolved_at")
    list_filter = ("status", "priority", "channel")
    raw_id_fields = ("account",)
    list_select_related = ("account",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("kind", "score", "account", "contact", "responded_at", "source")
    list_filter = ("kind", "source")
    raw_id_fields = ("account", "contact", "survey_send")
    list_select_related = ("account", "contact")


admin.site.register(SurveySchedule)
admin.site.register(SurveySend)
admin.site.register(MrrMovement)
admin.site.register(MetricSnapshot)


@admin.register(FeedbackImport)
class FeedbackImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "kind", "status", "row_count", "uploaded_by", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = ("created_at", "committed_at")
    raw_id_fields = ("uploaded_by",)
