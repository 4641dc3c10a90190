from django.contrib import admin

from accounts.models import (
    Account,
    Activity,
    Contact,
    Goal,
    GoalRevision,
    ImportJob,
    Subscription,
    Tag,
    Task,
)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("first_name", "last_name", "email", "title", "power_role", "is_primary")


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = (
        "plan_name",
        "quantity",
        "unit_price",
        "billing_period",
        "start_date",
        "end_date",
        "status",
        "mrr",
    )
    readonly_fields = ("mrr",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "external_id",
        "owner",
        "tier",
        "lifecycle_stage",
        "status",
        "mrr",
        "renewal_date",
    )
    list_filter = ("tier", "touch_model", "lifecycle_stage", "status")
    search_fields = ("name", "external_id", "domain")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "parent")
    readonly_fields = ("mrr", "renewal_date")
    inlines = [ContactInline, SubscriptionInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("__str__", "account", "email", "power_role", "is_primary")
    search_fields = ("first_name", "last_name", "email", "account__name")
    raw_id_fields = ("account",)
    list_select_related = ("account",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "plan_name",
        "account",
        "quantity",
        "billing_period",
        "mrr",
        "start_date",
        "end_date",
        "status",
    )
    list_filter = ("status", "billing_period")
    raw_id_fields = ("account",)
    readonly_fields = ("mrr",)
    list_select_related = ("account",)


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("subject", "account", "kind", "author", "occurred_at", "source")
    list_filter = ("kind", "source")
    raw_id_fields = ("account", "author", "contacts")
    list_select_related = ("account", "author")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "account", "assignee", "kind", "priority", "status", "due_date")
    list_filter = ("status", "kind", "priority")
    raw_id_fields = ("account", "assignee", "created_by")
    list_select_related = ("account", "assignee")


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ("title", "account", "status", "due_date")
    raw_id_fields = ("account",)
    list_select_related = ("account",)


admin.site.register(GoalRevision)
admin.site.register(Tag)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "kind",
        "status",
        "row_count",
        "uploaded_by",
        "created_at",
        "committed_at",
    )
    readonly_fields = ("content", "report")
