"""The catalogue of metrics (SPEC §3): keys, labels, formulas and reference benchmarks.

One place that the engine (what it computes and stores under each key), the pages (labels,
"about this metric", benchmarks beside the figures) and the API (which keys exist) agree on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Unit(StrEnum):
    MONEY = "money"
    PERCENT = "percent"
    COUNT = "count"
    SCORE = "score"
    DAYS = "days"
    RATIO = "ratio"


@dataclass(frozen=True)
class Benchmark:
    label: Promise
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class MetricDefinition:
    key: str
    label: Promise
    formula: Promise
    unit: Unit
    # Higher is better (True), lower is better (False); None when neither.
    higher_is_better: bool | None = True
    benchmarks: tuple[Benchmark, ...] = ()


METRICS: dict[str, MetricDefinition] = {
    m.key: m
    for m in (
        MetricDefinition(
            "mrr",
            _("MRR"),
            _(
                "Σ over paid (non-trial) subscriptions running on the day — start date ≤ day ≤ end date — of (recurring amount − discount) ÷ months in the billing period; one-time fees excluded; a cancelled line counts until its end date."
            ),
            Unit.MONEY,
        ),
        MetricDefinition("arr", _("ARR"), _("12 × MRR."), Unit.MONEY),
        MetricDefinition(
            "mrr_new",
            _("New MRR"),
            _(
                "MRR at the end of the period of accounts that had none at its start and never had any before."
            ),
            Unit.MONEY,
        ),
        MetricDefinition(
            "mrr_expansion",
            _("Expansion MRR"),
            _("MRR gained by accounts that already paid."),
            Unit.MONEY,
        ),
        MetricDefinition(
            "mrr_contraction",
            _("Contraction MRR"),
            _("MRR lost by accounts that still pay."),
            Unit.MONEY,
            False,
        ),
        MetricDefinition(
            "mrr_churned",
            _("Churned MRR"),
            _("MRR of accounts that stopped paying."),
            Unit.MONEY,
            False,
        ),
        MetricDefinition(
            "mrr_reactivation",
            _("Reactivation MRR"),
            _("MRR of accounts that paid before, stopped, and pay again."),
            Unit.MONEY,
        ),
        MetricDefinition(
            "customers",
            _("Paying customers"),
            _("Accounts with MRR above zero on the last day of the period."),
            Unit.COUNT,
        ),
        MetricDefinition(
            "customer_churn_rate",
            _("Customer churn rate"),
            _(
                "Customers lost during the period (MRR above zero the day before it started, zero on its last day) ÷ customers at the start of the period × 100."
            ),
            Unit.PERCENT,
            False,
            (Benchmark(_("SaaS average, monthly"), 10, 14),),
        ),
        MetricDefinition(
            "gross_mrr_churn",
            _("Gross MRR churn"),
            _("(Contraction + churned MRR) ÷ opening MRR × 100."),
            Unit.PERCENT,
            False,
        ),
        MetricDefinition(
            "net_mrr_churn",
            _("Net MRR churn"),
            _(
                "(Contraction + churned − expansion − reactivation) ÷ opening MRR × 100; negative is good."
            ),
            Unit.PERCENT,
            False,
        ),
        MetricDefinition(
            "nrr",
            _("Net revenue retention"),
            _(
                "(Opening MRR + expansion − contraction − churned) ÷ opening MRR × 100, existing customers only."
            ),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "grr",
            _("Gross revenue retention"),
            _("(Opening MRR − contraction − churned) ÷ opening MRR × 100, capped at 100."),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "crr",
            _("Customer retention rate"),
            _(
                "((E − N) ÷ S) × 100: E customers at the end, N new during the period, S at the start."
            ),
            Unit.PERCENT,
        ),
        MetricDefinition("arpa", _("ARPA"), _("MRR ÷ paying accounts."), Unit.MONEY),
        MetricDefinition(
            "arpu",
            _("ARPU"),
            _("MRR ÷ monthly active end users (30 days to the end of the period)."),
            Unit.MONEY,
        ),
        MetricDefinition(
            "ltv",
            _("LTV"),
            _(
                "ARPA × average lifetime in months of the accounts that churned; when none has, ARPA ÷ monthly customer churn rate."
            ),
            Unit.MONEY,
        ),
        MetricDefinition(
            "nps",
            _("NPS"),
            _("% promoters (9–10) − % detractors (0–6); passives 7–8; −100 to +100."),
            Unit.SCORE,
            True,
            (
                Benchmark(_("good"), 20),
                Benchmark(_("best in class"), 50),
                Benchmark(_("SaaS average"), 36, 36),
            ),
        ),
        MetricDefinition(
            "csat",
            _("CSAT"),
            # xgettext:no-python-format
            _("% of responses scoring 4 or 5 on a 1–5 scale."),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "ces",
            _("CES"),
            _("Mean of responses on a 1–7 scale; ≤3 bad, 4–5 good, 6–7 excellent."),
            Unit.SCORE,
            True,
            (Benchmark(_("SaaS average"), 5.4, 5.4),),
        ),
        MetricDefinition(
            "dau",
            _("DAU"),
            _("Distinct active end users per day; for longer periods the mean over the days."),
            Unit.COUNT,
        ),
        MetricDefinition(
            "wau",
            _("WAU"),
            _("Distinct active end users over the 7 days to the end of the period."),
            Unit.COUNT,
        ),
        MetricDefinition(
            "mau",
            _("MAU"),
            _("Distinct active end users over the 30 days to the end of the period."),
            Unit.COUNT,
        ),
        MetricDefinition("stickiness", _("Stickiness"), _("DAU ÷ MAU × 100."), Unit.PERCENT),
        MetricDefinition(
            "logins_without_action",
            _("Logins without a core action"),
            _("Users who logged in but did no core action in the period."),
            Unit.COUNT,
            False,
        ),
        MetricDefinition(
            "feature_adoption",
            _("Feature adoption rate"),
            _(
                "Users of the feature ÷ active users in the same period × 100 (since release for new features)."
            ),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "product_adoption",
            _("Product adoption rate"),
            _("New users who became active ÷ new registrations × 100."),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "tickets", _("Tickets opened"), _("Tickets opened in the period."), Unit.COUNT, None
        ),
        MetricDefinition(
            "ticket_first_response_hours",
            _("Average first response"),
            _("Mean hours from opening to first response, tickets opened in the period."),
            Unit.RATIO,
            False,
        ),
        MetricDefinition(
            "ticket_resolution_hours",
            _("Average resolution time"),
            _("Mean hours from opening to resolution, tickets resolved in the period."),
            Unit.RATIO,
            False,
        ),
        MetricDefinition(
            "trial_conversion",
            _("Trial conversion"),
            _(
                "Trials converted to paid ÷ trials in the cohort × 100; the cohort is the trials ending in the period."
            ),
            Unit.PERCENT,
            True,
            (Benchmark(_("no card"), 18, 18), Benchmark(_("opt-out trial"), 48, 48)),
        ),
        MetricDefinition(
            "activation_rate",
            _("Activation rate"),
            _(
                "Onboarding plans started in the period (the cohort) whose activation criteria are met ÷ plans in the cohort × 100."
            ),
            Unit.PERCENT,
        ),
        MetricDefinition(
            "onboarding_completion_rate",
            _("Onboarding completion rate"),
            _(
                "Onboarding plans started in the period (the cohort: start month, quarter or year) that completed ÷ plans in the cohort × 100."
            ),
            Unit.PERCENT,
            True,
            (Benchmark(_("good for B2B"), 40, 60), Benchmark(_("good for B2C"), 30, 50)),
        ),
        MetricDefinition(
            "average_onboarding_days",
            _("Average onboarding time"),
            _(
                "Total days from start to completion of the completed plans in the cohort ÷ plans in the cohort that completed."
            ),
            Unit.DAYS,
            False,
        ),
        MetricDefinition(
            "time_to_value_median",
            _("Time to value (median)"),
            _(
                "Median days from the start of a plan to its time-to-value point (its value criteria met, or its completion when it has none), over the plans in the cohort that reached it."
            ),
            Unit.DAYS,
            False,
        ),
        MetricDefinition(
            "time_to_value_mean",
            _("Time to value (mean)"),
            _(
                "Mean days from the start of a plan to its time-to-value point, over the plans in the cohort that reached it."
            ),
            Unit.DAYS,
            False,
        ),
        MetricDefinition(
            "onboarding_tickets_per_day",
            _("Tickets per day in onboarding"),
            _(
                "Tickets opened in the period by accounts with an onboarding plan in progress that day ÷ days in the period."
            ),
            Unit.RATIO,
            False,
        ),
        MetricDefinition(
            "win_back_rate",
            _("Win-back rate"),
            _(
                "Former customers (no MRR at the start of the period, paid before) paying again at its end ÷ former customers × 100."
            ),
            Unit.PERCENT,
        ),
    )
}
