from django.contrib import admin

from renewals.models import CounterOffer, ExitInterview, Renewal, RenewalReminder


class CounterOfferInline(admin.TabularInline):
    model = CounterOffer
    extra = 0
    fields = ("kind", "description", "value", "offered_on", "status", "decided_on")


@admin.register(Renewal)
class RenewalAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "renewal_date",
        "notice_deadline",
        "currency",
        "mrr",
        "stage",
        "forecast_category",
        "probability",
        "at_risk",
        "outcome",
        "closed_on",
    )
    list_filter = ("stage", "forecast_category", "outcome", "at_risk", "reason", "churn_type")
    search_fields = ("account__name", "competitor")
    date_hierarchy = "renewal_date"
    raw_id_fields = ("account", "subscription", "successor", "owner", "closed_by")
    list_select_related = ("account",)
    inlines = [CounterOfferInline]


@admin.register(ExitInterview)
class ExitInterviewAdmin(admin.ModelAdmin):
    list_display = ("renewal", "interviewed_on", "communication", "moving_to", "would_return")
    list_filter = ("communication", "would_return")
    raw_id_fields = ("renewal", "contact", "conducted_by")
    list_select_related = ("renewal__account",)


@admin.register(CounterOffer)
class CounterOfferAdmin(admin.ModelAdmin):
    list_display = ("renewal", "kind", "value", "offered_on", "status", "decided_on")
    list_filter = ("kind", "status")
    raw_id_fields = ("renewal", "created_by")
    list_select_related = ("renewal__account",)


@admin.register(RenewalReminder)
class RenewalReminderAdmin(admin.ModelAdmin):
    list_display = ("renewal", "kind", "lead_days", "target_date", "created_at", "processed_at")
    list_filter = ("kind", "lead_days")
    raw_id_fields = ("renewal", "task", "email")
    list_select_related = ("renewal__account",)
