from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleMode(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DRY_RUN = "dry_run", _("Dry run (record matches, do nothing)")
    DISABLED = "disabled", _("Disabled")

    @property
    def colour(self) -> str:
        return {"enabled": "success", "dry_run": "info", "disabled": "secondary"}[self.value]


class ActionKind(models.TextChoices):
    START_PLAYBOOK = "start_playbook", _("Start a playbook (a task list)")
    CREATE_TASK = "create_task", _("Create a task")
    EMAIL_OWNER = "email_owner", _("Email the account owner")
    NOTIFY_LEAD = "notify_lead", _("Notify the CS Leads")
    CHANGE_STAGE = "change_stage", _("Change the lifecycle stage")
    REASSIGN = "reassign", _("Reassign the account")
    WEBHOOK = "webhook", _("Call a webhook (JSON, signed)")
    SLACK = "slack", _("Post to a Slack-compatible webhook")


class AssigneeRole(models.TextChoices):
    OWNER = "owner", _("The account owner")
    CS_LEAD = "cs_lead", _("A CS Lead")
    USER = "user", _("A named user")


class RunSource(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    EVENT = "event", _("Event")
    MANUAL = "manual", _("By hand")


class MatchOutcome(models.TextChoices):
    FIRED = "fired", _("Fired")
    COOLDOWN = "cooldown", _("In cooldown")
    DRY_RUN = "dry_run", _("Dry run")
    FAILED = "failed", _("Failed")


class EndpointFormat(models.TextChoices):
    JSON = "json", _("JSON, signed (HMAC-SHA256)")
    SLACK = "slack", _("Slack-compatible incoming webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (endpoint disabled)")
