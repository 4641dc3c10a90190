"""The QBR document: one structure built from a QBR (or an account) and its prep pack, which
the HTML preview, the PDF and the PowerPoint renderers all draw.

Every string in it is plain text. Customer-supplied text (narratives, goal titles, ticket
subjects, survey comments, names) is never markup: the HTML template escapes it and the
PowerPoint renderer writes it as text runs, so `<script>` or `{{ 7*7 }}` stays literal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.choices import (
    BillingPeriod,
    DiscountType,
    GoalStatus,
    LifecycleStage,
    Tier,
    TouchModel,
)
from health.choices import Color
from metrics.choices import TicketPriority, TicketStatus
from onboarding.choices import PlanHealth, PlanStatus
from qbr.choices import OPTIONAL_SECTIONS, QbrKind, Section, StepSide
from renewals.choices import ForecastCategory, RiskFlag

BASE_DIR = Path(settings.BASE_DIR)
DEFAULT_LOGO = BASE_DIR / "static" / "qbr" / "logo.png"


# The structure ------------------------------------------------------------------------------


@dataclass
class Kpi:
    label: str
    value: str
    note: str = ""
    # "up", "down" or "" for the arrow; good tells the colour (None: neutral).
    trend: str = ""
    good: bool | None = None


@dataclass
class Facts:
    pairs: list[tuple[str, str]]
    title: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    title: str = ""
    # Relative column widths (the PowerPoint table and the PDF use them).
    widths: list[int] = field(default_factory=list)


@dataclass
class Chart:
    kind: str  # "line" or "bar"
    title: str
    labels: list[str]
    series: list[tuple[str, list[float | None]]]
    unit: str = "count"  # count, percent, score
    y_max: float | None = None


@dataclass
class Bullets:
    items: list[str]
    numbered: bool = False
    title: str = ""
    empty: str = ""


Block = Kpi | Facts | Table | Chart | Bullets


@dataclass
class DocSection:
    key: str
    title: str
    narrative: str = ""
    kpis: list[Kpi] = field(default_factory=list)
    blocks: list[Any] = field(default_factory=list)
    mandatory: bool = False
    editable: bool = True


@dataclass
class Document:
    company: str
    title: str
    account_name: str
    kind_label: str
    period_label: str
    date_label: str
    prepared_by: str
    attendees: list[str]
    sections: list[DocSection]
    primary: str
    accent: str
    logo_path: str
    currency: str

    @property
    def agenda(self) -> list[str]:
        return [s.title for s in self.sections]


# Formatting -----------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def _rounded(d: Decimal, places: int) -> Decimal:
    # Django's number_format cuts the extra digits off; round half up first (28.57 → 29).
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fmt_number(value: Any, places: int = 0) -> str:
    d = _dec(value)
    if d is None:
        return "—"
    return number_format(_rounded(d, places), places, use_l10n=True, force_grouping=True)


def fmt_money(value: Any, currency: str) -> str:
    d = _dec(value)
    if d is None:
        return "—"
    return f"{fmt_number(d, 2)} {currency}"


def fmt_percent(value: Any, places: int = 0) -> str:
    d = _dec(value)
    return "—" if d is None else f"{fmt_number(d, places)} %"


def fmt_date(value: Any) -> str:
    if not value:
        return "—"
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return date_format(day, "DATE_FORMAT")


def fmt_short_date(value: Any) -> str:
    if not value:
        return "—"
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return date_format(day, "SHORT_DATE_FORMAT")


def _fmt(value: Any, unit: str, currency: str) -> str:
    if unit == "money":
        return fmt_money(value, currency)
    if unit == "percent":
        return fmt_percent(value, 1)
    if unit == "score":
        return fmt_number(value, 0)
    return fmt_number(value, 0)


def _change(start: Any, end: Any, unit: str) -> tuple[str, str]:
    a, b = _dec(start), _dec(end)
    if a is None or b is None:
        return "—", ""
    diff = b - a
    trend = "up" if diff > 0 else "down" if diff < 0 else ""
    if unit in ("percent", "score"):
        text = _("%(diff)s pts") % {"diff": _signed(diff, 1)}
    elif a:
        text = f"{_signed(diff * 100 / a, 0)} %"
    else:
        text = _signed(diff, 0)
    return text, trend


def _signed(d: Decimal, places: int) -> str:
    r = _rounded(d, places)
    text = fmt_number(abs(r), places)
    if r > 0:
        return f"+{text}"
    if r < 0:
        return f"−{text}"
    return text


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "—")


KPI_LABELS = {
    "mau": lambda: _("Monthly active users"),
    "wau": lambda: _("Weekly active users"),
    "dau": lambda: _("Daily active users"),
    "stickiness": lambda: _("Stickiness (DAU ÷ MAU)"),
    "core_adoption_30d": lambda: _("Core feature adoption"),
    "events_30d": lambda: _("Events in 30 days"),
    "mrr": lambda: _("MRR"),
    "nps_365d": lambda: _("NPS (12 months)"),
    "csat_365d": lambda: _("CSAT (12 months)"),
    "tickets_30d": lambda: _("Tickets in 30 days"),
}
# For these a rise is bad news.
LOWER_IS_BETTER = {"tickets_30d"}


def risk_text(risk: dict[str, Any], currency: str) -> str:
    p = risk.get("params", {})
    code = risk["code"]
    if code == "health":
        return _("Health is %(colour)s (%(score)s).") % {
            "colour": _label(Color, p.get("color")).lower(),
            "score": fmt_number(p.get("score")),
        }
    if code == "renewal_at_risk":
        reasons = ", ".join(_label(RiskFlag, k).lower() for k in p.get("risks", []))
        return _("The renewal is at risk: %(reasons)s.") % {"reasons": reasons or "—"}
    if code == "open_p1":
        return _("An urgent (P1) ticket is still open.")
    if code == "escalations":
        n = p.get("n", 0)
        return ngettext(
            "%(n)s escalation in the period.", "%(n)s escalations in the period.", n
        ) % {"n": n}
    if code == "detractor_nps":
        n = p.get("n", 0)
        return ngettext(
            "%(n)s detractor answered the NPS survey.",
            "%(n)s detractors answered the NPS survey.",
            n,
        ) % {"n": n}
    if code == "no_sponsor":
        return _("No executive sponsor is named on the customer's side.")
    if code == "goal":
        return _("Goal “%(title)s” is %(status)s.") % {
            "title": p.get("title", ""),
            "status": _label(GoalStatus, p.get("status")).lower(),
        }
    if code == "usage_drop":
        return _("Monthly active users fell from %(start)s to %(end)s.") % {
            "start": fmt_number(p.get("start")),
            "end": fmt_number(p.get("end")),
        }
    if code == "onboarding":
        return _("Onboarding is %(health)s.") % {
            "health": _label(PlanHealth, p.get("health")).lower()
        }
    return code


def recommendation_text(rec: dict[str, Any], currency: str) -> str:
    p = rec.get("params", {})
    code = rec["code"]
    if code == "adoption_drive":
        return _(
            "Only %(use)s of %(licenses)s licenses are in monthly use: plan an adoption drive "
            "with the team leads (training, in-app guides, a usage target for next quarter)."
        ) % {"use": fmt_percent(p.get("use")), "licenses": fmt_number(p.get("licenses"))}
    if code == "expansion":
        return _(
            "%(use)s of %(licenses)s licenses are in monthly use: agree on the seats the next "
            "teams will need before they hit the limit."
        ) % {"use": fmt_percent(p.get("use")), "licenses": fmt_number(p.get("licenses"))}
    if code == "next_tier":
        return _(
            "%(gap)s more a year reaches the next price tier: review whether its volume pricing "
            "serves the customer better."
        ) % {"gap": fmt_money(p.get("gap"), currency)}
    if code == "training":
        return _("Offer training on core features little used so far: %(features)s.") % {
            "features": ", ".join(p.get("features", []))
        }
    if code == "renewal":
        return _(
            "The renewal is %(days)s days away (%(date)s): agree on the renewal plan and who signs."
        ) % {"days": p.get("days"), "date": fmt_date(p.get("date"))}
    if code == "sponsor":
        return _("Meet the executive sponsor (or find one) to re-confirm the business goals.")
    if code == "incident_review":
        return _("Review the period's urgent tickets and escalations and what changed since.")
    if code == "advocacy":
        return _("The account is healthy: ask for a reference, a case study or a review.")
    return code


def _goal_rows(goals: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            g["title"],
            g["kpi"] or "—",
            g["target"] or "—",
            _label(GoalStatus, g["status_at_last_qbr"]) if g["status_at_last_qbr"] else _("New"),
            _label(GoalStatus, g["status"]),
        ]
        for g in goals
    ]


# Narrative drafts -----------------------------------------------------------------------------


def draft_narrative(prep: dict[str, Any]) -> dict[str, str]:
    """A first draft of the summary and performance from the figures, for the CSM to edit."""
    currency = prep["account"]["currency"]
    kpis = {k["key"]: k for k in prep["kpis"]}
    health = prep["health"]
    lines = []
    if health.get("end") is not None:
        score = fmt_number(health["end"])
        if health.get("start") is None:  # no score yet when the period began
            lines.append(_("Health stands at %(score)s.") % {"score": score})
        else:
            change, _trend = _change(health["start"], health["end"], "score")
            lines.append(
                _("Health stands at %(score)s (%(change)s over the period).")
                % {"score": score, "change": change}
            )
    mau = kpis["mau"]
    if mau["end"] is not None:
        lines.append(
            _("%(end)s people used the product in the last 30 days (%(start)s at the start).")
            % {"end": fmt_number(mau["end"]), "start": fmt_number(mau["start"])}
        )
    contract = prep["contract"]
    if contract["licenses"]:
        lines.append(
            _("The contract covers %(licenses)s licenses at %(arr)s a year.")
            % {
                "licenses": fmt_number(contract["licenses"]),
                "arr": fmt_money(contract["arr"], currency),
            }
        )
    achieved = [g["title"] for g in prep["goals"] if g["status"] == "achieved"]
    if achieved:
        lines.append(_("Goals achieved: %(goals)s.") % {"goals": "; ".join(achieved)})
    performance = []
    adoption = [f for f in prep["adoption"] if f["adoption"] is not None]
    if adoption:
        top = max(adoption, key=lambda f: Decimal(f["adoption"]))
        performance.append(
            _(
                "The most used feature is %(feature)s (%(adoption)s of active users in the last 30 days)."
            )
            % {"feature": top["feature"], "adoption": fmt_percent(top["adoption"])}
        )
    support = prep["support"]
    performance.append(
        ngettext(
            "%(n)s support ticket was opened in the period.",
            "%(n)s support tickets were opened in the period.",
            support["opened"],
        )
        % {"n": support["opened"]}
    )
    return {"summary": " ".join(lines), "performance": " ".join(performance)}


# Building -------------------------------------------------------------------------------------


def _logo() -> str:
    configured = settings.QBR_LOGO_PATH
    if configured and Path(configured).is_file():
        return str(Path(configured).resolve())
    return str(DEFAULT_LOGO) if DEFAULT_LOGO.is_file() else ""


def _kpi_tiles(prep: dict[str, Any]) -> list[Kpi]:
    currency = prep["account"]["currency"]
    kpis = {k["key"]: k for k in prep["kpis"]}
    health = prep["health"]
    tiles = []
    h_change, h_trend = _change(health.get("start"), health.get("end"), "score")
    tiles.append(
        Kpi(
            _("Health score"),
            fmt_number(health.get("end") if health.get("end") is not None else health.get("score")),
            h_change
            if h_change != "—"
            else _label(Color, health.get("color"))
            if health.get("color")
            else "",
            h_trend,
            h_trend == "up" if h_trend else None,
        )
    )
    tiles.append(
        Kpi(
            _("ARR"),
            fmt_money(prep["contract"]["arr"], currency),
            _("%(n)s licenses") % {"n": fmt_number(prep["contract"]["licenses"])},
        )
    )
    mau = kpis["mau"]
    m_change, m_trend = _change(mau["start"], mau["end"], "count")
    tiles.append(
        Kpi(
            _("Monthly active users"),
            fmt_number(mau["end"]),
            m_change,
            m_trend,
            m_trend == "up" if m_trend else None,
        )
    )
    sentiment = prep["sentiment"]
    if sentiment["nps"] is not None:
        n = sentiment["nps_responses"]
        nps = sentiment["nps"]
        basis = ngettext("%(n)s answer in the period", "%(n)s answers in the period", n) % {"n": n}
    else:  # nobody answered during the period: the rolling figure, said to be one
        nps, basis = kpis["nps_365d"]["end"], _("last 12 months")
    tiles.append(Kpi(_("NPS"), fmt_number(nps), basis))
    renewal_on = prep["contract"]["renewal_date"]
    if renewal_on:
        days = (
            dt.date.fromisoformat(renewal_on) - dt.date.fromisoformat(prep["period"]["as_of"])
        ).days
        tiles.append(
            Kpi(
                _("Renewal"),
                fmt_short_date(renewal_on),
                ngettext("in %(n)s day", "in %(n)s days", days) % {"n": days},
            )
        )
    return tiles


def _performance_blocks(prep: dict[str, Any], executive: bool) -> list[Any]:
    currency = prep["account"]["currency"]
    rows = []
    for k in prep["kpis"]:
        if executive and k["key"] in ("wau", "dau", "events_30d"):
            continue
        if k["start"] is None and k["end"] is None:
            continue
        change, _trend = _change(k["start"], k["end"], k["unit"])
        rows.append(
            [
                KPI_LABELS[k["key"]](),
                _fmt(k["start"], k["unit"], currency),
                _fmt(k["end"], k["unit"], currency),
                change,
            ]
        )
    period = prep["period"]
    blocks: list[Any] = [
        Table(
            [
                _("Measure"),
                fmt_short_date(period["start"]),
                fmt_short_date(period["end"]),
                _("Change"),
            ],
            rows,
            title=_("Key figures"),
            widths=[5, 3, 3, 2],
        )
    ]
    usage = prep["usage"]
    labels = [fmt_short_date(d) for d in usage["labels"]]
    if any(v for v in usage["mau"] if v):
        series = [(_("Monthly active users"), usage["mau"])]
        if not executive:
            series += [
                (_("Weekly active users"), usage["wau"]),
                (_("Daily active users"), usage["dau"]),
            ]
        blocks.append(Chart("line", _("Active users over the period"), labels, series, "count"))
    health = prep["health"]["series"]
    if any(s for _d, s in health if s is not None):
        blocks.append(
            Chart(
                "line",
                _("Health score"),
                [fmt_short_date(d) for d, _s in health],
                [(_("Health score"), [float(s) if s is not None else None for _d, s in health])],
                "score",
                y_max=100,
            )
        )
    adoption = [f for f in prep["adoption"] if f["adoption"] is not None]
    if adoption:
        blocks.append(
            Chart(
                "bar",
                _("Feature adoption (its users ÷ active users, last 30 days)"),
                [f["feature"] for f in adoption],
                [(_("Adoption %"), [float(f["adoption"]) for f in adoption])],
                "percent",
            )
        )
    return blocks


def _results_blocks(prep: dict[str, Any]) -> list[Any]:
    blocks: list[Any] = []
    previous = [g for g in prep["goals"] if not g["new_since_last_qbr"]]
    blocks.append(
        Table(
            [_("Goal"), _("KPI"), _("Target"), _("At the last QBR"), _("Now")],
            _goal_rows(previous),
            title=_("Goals"),
            widths=[5, 3, 3, 2, 2],
        )
    )
    last = prep["last_qbr"]
    if last and last["next_steps"]:
        items = []
        for step in last["next_steps"]:
            state = (
                _("done")
                if step["status"] == "done"
                else _("open")
                if step["status"] == "open"
                else _("not tracked")
            )
            items.append(f"{step['text']} ({state})")
        blocks.append(
            Bullets(
                items,
                numbered=True,
                title=_("Next steps agreed on %(date)s") % {"date": fmt_date(last["held_on"])},
            )
        )
    return blocks


def _gaps_blocks(prep: dict[str, Any]) -> list[Any]:
    currency = prep["account"]["currency"]
    blocks: list[Any] = [
        Bullets(
            [risk_text(r, currency) for r in prep["risks"]],
            title=_("Open risks"),
            empty=_("No open risks in the platform's records."),
        )
    ]
    new = [g for g in prep["goals"] if g["new_since_last_qbr"] or g["status"] == "not_started"]
    if new:
        blocks.append(
            Table(
                [_("New goal"), _("KPI"), _("Target"), _("Due")],
                [
                    [g["title"], g["kpi"] or "—", g["target"] or "—", fmt_short_date(g["due_date"])]
                    for g in new
                ],
                title=_("New goals"),
                widths=[6, 3, 3, 2],
            )
        )
    return blocks


def _action_blocks(steps: list[Any]) -> list[Any]:
    items = []
    for s in steps:
        who = _("us") if s.side == StepSide.OURS else _("customer")
        due = f", {fmt_short_date(s.due_date)}" if s.due_date else ""
        items.append(f"{s.text} ({who}{due})")
    return [
        Bullets(
            items,
            numbered=True,
            title=_("Next steps"),
            empty=_("Next steps are agreed at the meeting."),
        )
    ]


def _support_blocks(prep: dict[str, Any]) -> list[Any]:
    s = prep["support"]
    sentiment = prep["sentiment"]
    facts = Facts(
        [
            (_("Tickets opened"), fmt_number(s["opened"])),
            (_("Tickets resolved"), fmt_number(s["resolved"])),
            (_("Open now"), fmt_number(s["open_now"])),
            (_("Urgent (P1)"), fmt_number(s["p1"])),
            (_("Escalations"), fmt_number(s["escalations"])),
            (
                _("Average first response"),
                _("%(h)s h") % {"h": fmt_number(s["first_response_hours"], 1)}
                if s["first_response_hours"]
                else "—",
            ),
            (
                _("Average resolution"),
                _("%(h)s h") % {"h": fmt_number(s["resolution_hours"], 1)}
                if s["resolution_hours"]
                else "—",
            ),
        ],
        title=_("Support"),
    )
    nps = Facts(
        [
            (_("NPS"), fmt_number(sentiment["nps"])),
            (
                _("Promoters / passives / detractors"),
                f"{sentiment['promoters']} / {sentiment['passives']} / {sentiment['detractors']}",
            ),
            (_("CSAT"), fmt_percent(sentiment["csat"])),
            (
                _("Survey answers"),
                fmt_number(sentiment["nps_responses"] + sentiment["csat_responses"]),
            ),
        ],
        title=_("NPS and CSAT"),
    )
    blocks: list[Any] = [facts, nps]
    if sentiment["comments"]:
        blocks.append(
            Bullets(
                [
                    f"“{c['comment']}” — {c['contact'] or _('a customer')}, {c['kind'].upper()} {c['score']}"
                    for c in sentiment["comments"]
                ],
                title=_("What the customer said"),
            )
        )
    return blocks


def _ticket_blocks(prep: dict[str, Any]) -> list[Any]:
    rows = [
        [
            t["subject"],
            _label(TicketPriority, t["priority"])
            + (" · " + _("escalation") if t["escalation"] else ""),
            _label(TicketStatus, t["status"]),
            fmt_short_date(t["opened_on"]),
        ]
        for t in prep["support"]["notable"]
    ]
    return [
        Table(
            [_("Ticket"), _("Priority"), _("Status"), _("Opened")],
            rows,
            title=_("Urgent tickets and escalations"),
            widths=[6, 3, 2, 2],
        )
    ]


def _onboarding_blocks(prep: dict[str, Any]) -> list[Any]:
    o = prep["onboarding"]
    if not o:
        return []
    facts = Facts(
        [
            (_("Plan"), o["name"]),
            (
                _("Status"),
                _label(PlanStatus, o["status"])
                + (f" · {_label(PlanHealth, o['health'])}" if o["status"] == "active" else ""),
            ),
            (_("Progress"), fmt_percent(o["progress"])),
            (_("Started"), fmt_date(o["started_on"])),
            (_("Launch (go-live)"), fmt_date(o["launch_on"])),
            (
                _("Time to value"),
                ngettext("%(n)s day", "%(n)s days", o["time_to_value_days"])
                % {"n": o["time_to_value_days"]}
                if o["time_to_value_days"] is not None
                else "—",
            ),
        ],
        title=_("Onboarding"),
    )
    rows = [
        [
            m["name"],
            fmt_short_date(m["due_on"]),
            fmt_short_date(m["completed_on"]) if m["completed_on"] else _("open"),
        ]
        for m in o["milestones"]
    ]
    return [
        facts,
        Table(
            [_("Milestone"), _("Due"), _("Completed")],
            rows,
            title=_("Implementation milestones"),
            widths=[6, 2, 2],
        ),
    ]


def _contract_blocks(prep: dict[str, Any]) -> list[Any]:
    c = prep["contract"]
    currency = prep["account"]["currency"]
    discounts = "; ".join(
        f"{d['plan']}: "
        + (
            fmt_percent(d["value"], 1)
            if d["type"] == DiscountType.PERCENT
            else fmt_money(d["value"], currency)
        )
        for d in c["discounts"]
    )
    pairs = [
        (_("Plan tier"), ", ".join(c["plans"]) or "—"),
        (_("Licenses"), fmt_number(c["licenses"])),
        (_("MRR / ARR"), f"{fmt_money(c['mrr'], currency)} / {fmt_money(c['arr'], currency)}"),
        (_("Discount"), discounts or _("none")),
        (
            _("Annual billing"),
            _("yes")
            if c["annual_billing"]
            else _("no")
            + (
                f" ({', '.join(_label(BillingPeriod, b) for b in c['billing_periods'])})"
                if c["billing_periods"]
                else ""
            ),
        ),
        (_("Signed on"), fmt_date(c["signed_on"])),
        (_("Renewal date"), fmt_date(c["renewal_date"])),
        (_("Cancellation deadline"), fmt_date(c["cancellation_deadline"])),
        (
            _("Next price-tier threshold"),
            fmt_money(c["next_tier_threshold"], currency)
            + (
                f" ({_('%(gap)s to go') % {'gap': fmt_money(c['next_tier_gap'], currency)}})"
                if c["next_tier_gap"] and Decimal(c["next_tier_gap"]) > 0
                else ""
            )
            if c["next_tier_threshold"]
            else "—",
        ),
    ]
    r = prep["renewal"]
    if r:
        pairs.append(
            (
                _("Renewal forecast"),
                f"{_label(ForecastCategory, r['forecast_category'])} ({r['probability']} %)",
            )
        )
    a = prep["account"]
    pairs += [
        (_("Customer since"), fmt_date(a["customer_since"])),
        (
            _("Segment"),
            f"{_label(Tier, a['tier'])} · {_label(TouchModel, a['touch_model'])} · {_label(LifecycleStage, a['lifecycle_stage'])}",
        ),
    ]
    return [Facts(pairs, title=_("Contract and renewal"))]


def _section(key: str, narrative: dict[str, str], **kwargs: Any) -> DocSection:
    sec = Section(key)
    return DocSection(
        key=key,
        title=str(sec.label),
        narrative=(narrative.get(key) or "").strip(),
        mandatory=sec.mandatory,
        **kwargs,
    )


def build_document(
    *,
    prep: dict[str, Any],
    kind: str = QbrKind.QBR,
    narrative: dict[str, str] | None = None,
    optional_sections: list[str] | None = None,
    steps: list[Any] | None = None,
    meeting_on: dt.date | None = None,
    prepared_by: str = "",
    attendees: list[str] | None = None,
) -> Document:
    """The document of a QBR: mandatory sections first (most important first), the chosen
    optional ones, then the data appendix."""
    narrative = narrative or {}
    chosen = [s for s in OPTIONAL_SECTIONS if s in (optional_sections or [])]
    executive = kind == QbrKind.EBR
    currency = prep["account"]["currency"]
    sections = [
        _section("summary", narrative, kpis=_kpi_tiles(prep)),
        _section("performance", narrative, blocks=_performance_blocks(prep, executive)),
        _section("results", narrative, blocks=_results_blocks(prep)),
        _section("gaps", narrative, blocks=_gaps_blocks(prep)),
        _section("action_plan", narrative, blocks=_action_blocks(steps or [])),
        _section(
            "recommendations",
            narrative,
            blocks=[
                Bullets(
                    [recommendation_text(r, currency) for r in prep["recommendations"]],
                    title=_("What the figures suggest"),
                    empty=_("Nothing stands out in the figures."),
                )
            ],
        ),
    ]
    for key in chosen:
        blocks = _ticket_blocks(prep) if key == "tickets" else []
        if key == "wins":
            won = [g["title"] for g in prep["goals"] if g["status"] == "achieved"]
            if won:
                blocks = [Bullets(won, title=_("Goals achieved"))]
        sections.append(_section(key, narrative, blocks=blocks))
    sections.append(
        DocSection(
            "support", _("Support and satisfaction"), blocks=_support_blocks(prep), editable=False
        )
    )
    onboarding = _onboarding_blocks(prep)
    if onboarding:
        sections.append(
            DocSection("onboarding", _("Onboarding status"), blocks=onboarding, editable=False)
        )
    sections.append(
        DocSection(
            "contract",
            _("Contract and renewal facts"),
            blocks=_contract_blocks(prep),
            editable=False,
        )
    )
    period = prep["period"]
    kind_label = _("Executive business review") if executive else _("Quarterly business review")
    return Document(
        company=settings.COMPANY_NAME,
        title=f"{prep['account']['name']} · {kind_label}",
        account_name=prep["account"]["name"],
        kind_label=kind_label,
        period_label=f"{fmt_date(period['start'])} – {fmt_date(period['end'])}",
        date_label=fmt_date(meeting_on) if meeting_on else _("to be agreed"),
        prepared_by=prepared_by or prep["account"].get("owner") or "",
        attendees=attendees or [],
        sections=sections,
        primary=settings.QBR_PRIMARY_COLOR,
        accent=settings.QBR_ACCENT_COLOR,
        logo_path=_logo(),
        currency=currency,
    )


def qbr_document(qbr: Any, prep: dict[str, Any] | None = None) -> Document:
    """The document of a saved QBR, from its stored prep pack (or the one given)."""
    attendees = [
        f"{c.first_name} {c.last_name}".strip() + (f", {c.title}" if c.title else "")
        for c in qbr.attendee_contacts.all()
    ] + [u.get_full_name() or u.username for u in qbr.attendee_users.all()]
    meeting = qbr.held_on or (timezone.localdate(qbr.scheduled_at) if qbr.scheduled_at else None)
    return build_document(
        prep=prep or qbr.prep,
        kind=qbr.kind,
        narrative=qbr.narrative,
        optional_sections=qbr.optional_sections,
        steps=list(qbr.next_steps.all()),
        meeting_on=meeting,
        prepared_by=(qbr.owner.get_full_name() or qbr.owner.username) if qbr.owner else "",
        attendees=attendees,
    )
