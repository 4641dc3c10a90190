from django.contrib import admin

from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanCriterion,
    PlanMilestone,
    PlanShareLink,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)


class TemplateMilestoneInline(admin.TabularInline):
    model = TemplateMilestone
    extra = 0
    fields = ("position", "name", "due_day")


class TemplateCriterionInline(admin.TabularInline):
    model = TemplateCriterion
    extra = 0
    fields = ("role", "kind", "feature", "milestone", "threshold")


@admin.register(OnboardingTemplate)
class OnboardingTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "touch_model", "tier", "business_model", "priority", "is_active")
    list_filter = ("is_active", "auto_start", "touch_model", "tier", "business_model")
    search_fields = ("name",)
    inlines = [TemplateMilestoneInline, TemplateCriterionInline]


@admin.register(TemplateTask)
class TemplateTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "milestone", "side", "due_day")
    list_filter = ("side",)
    list_select_related = ("milestone",)


class PlanMilestoneInline(admin.TabularInline):
    model = PlanMilestone
    extra = 0
    fields = ("position", "name", "due_on", "started_on", "completed_on")


class PlanCriterionInline(admin.TabularInline):
    model = PlanCriterion
    extra = 0
    fields = ("role", "kind", "feature", "milestone", "threshold", "current", "met_on")
    raw_id_fields = ("milestone",)


@admin.register(OnboardingPlan)
class OnboardingPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "status", "health", "started_on", "completed_on")
    list_filter = ("status", "health", "template")
    search_fields = ("name", "account__name")
    raw_id_fields = ("account", "template", "created_by")
    list_select_related = ("account",)
    inlines = [PlanMilestoneInline, PlanCriterionInline]


@admin.register(PlanTask)
class PlanTaskAdmin(admin.ModelAdmin):
    list_display = ("title", "plan", "side", "due_on", "completed_at")
    list_filter = ("side",)
    raw_id_fields = (
        "plan",
        "milestone",
        "task",
        "completed_by",
        "completed_by_contact",
        "completed_via",
    )
    list_select_related = ("plan",)


@admin.register(PlanShareLink)
class PlanShareLinkAdmin(admin.ModelAdmin):
    list_display = ("token_prefix", "plan", "contact", "created_at", "expires_at", "revoked_at")
    raw_id_fields = ("plan", "contact", "created_by", "revoked_by")
    readonly_fields = ("token_hash", "token_prefix", "created_at", "last_used_at")
    list_select_related = ("plan",)
