from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    TRACK = "track", _("Track")
    PAGE = "page", _("Page")
    SCREEN = "screen", _("Screen")
    IDENTIFY = "identify", _("Identify")
    GROUP = "group", _("Group")


class TicketChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social")
    WEB = "web", _("Web form")


class TicketPriority(models.TextChoices):
    P1 = "p1", _("P1 – urgent")
    P2 = "p2", _("P2 – high")
    P3 = "p3", _("P3 – normal")
    P4 = "p4", _("P4 – low")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–7)")

    @property
    def score_range(self) -> tuple[int, int]:
        return {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[self.value]


class ResponseSource(models.TextChoices):
    API = "api", _("API")
    CSV = "csv", _("CSV import")
    EMAIL = "email", _("Emailed survey")
    MANUAL = "manual", _("Entered by hand")


class Period(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class MovementKind(models.TextChoices):
    NEW = "new", _("New")
    EXPANSION = "expansion", _("Expansion")
    CONTRACTION = "contraction", _("Contraction")
    CHURN = "churn", _("Churned")
    REACTIVATION = "reactivation", _("Reactivation")
