from django.contrib import admin

from health.models import (
    CsmSentiment,
    HealthOverride,
    HealthScore,
    HealthScoreHistory,
    Measure,
    MeasureGroup,
    Scorecard,
    ScorecardVersion,
)


class MeasureInline(admin.TabularInline):
    model = Measure
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "priority", "is_active")
    list_filter = ("is_active", "is_default")


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin):
    list_display = ("scorecard", "number", "status", "red_max", "yellow_max", "published_at")
    list_filter = ("status",)


@admin.register(MeasureGroup)
class MeasureGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "weight", "position")
    inlines = [MeasureInline]


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ("account", "score", "color", "computed_score", "overridden", "as_of")
    list_filter = ("color", "overridden")
    raw_id_fields = ("account", "version")
    list_select_related = ("account",)


@admin.register(HealthScoreHistory)
class HealthScoreHistoryAdmin(admin.ModelAdmin):
    list_display = ("account", "date", "score", "color")
    raw_id_fields = ("account", "version")
    list_select_related = ("account",)
    date_hierarchy = "date"


@admin.register(HealthOverride, CsmSentiment)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ("account", "expires_on", "created_by", "created_at", "ended_at", "end_reason")
    raw_id_fields = ("account", "created_by")
    list_select_related = ("account", "created_by")
