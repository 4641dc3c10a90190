"""Forms of the CSV import: the upload form, and one form per CSV row of each kind.

Row forms only parse and check one row on its own (types, choices, required cells,
cross-field rules). What needs the database (which account, who owns it, duplicates) is
decided by accounts.importers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from accounts.choices import (
    AccountStatus,
    BillingPeriod,
    BusinessModel,
    DiscountType,
    ImportKind,
    LifecycleStage,
    PowerRole,
    SubscriptionStatus,
    Tier,
    TouchModel,
)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 (with or without BOM), comma- or semicolon-separated, header first."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is too large (%(size)d MB); the limit is %(limit)d MB.")
                % {"size": upload.size // (1024 * 1024), "limit": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


# Cells --------------------------------------------------------------------------------


class CsvChoiceField(forms.CharField):
    """A choice written as its value or its label, in any case ("Mid-market", "mid_market")."""

    def __init__(self, choices: type[TextChoices], **kwargs: Any) -> None:
        self.enum = choices
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if not value:
            return ""
        key = value.strip().lower()
        for member in self.enum:
            if key in (member.value.lower(), str(member.label).lower()):
                return member.value
        raise ValidationError(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(self.enum.values)},
            code="invalid_choice",
        )


class CsvBooleanField(forms.Field):
    TRUE = frozenset({"true", "yes", "y", "1", "x"})
    FALSE = frozenset({"false", "no", "n", "0"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool | None:
        text = str(value or "").strip().lower()
        if not text:
            return None
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(
            _("“%(value)s” is not yes/no (use true, false, yes, no, 1 or 0).") % {"value": value},
            code="invalid",
        )


def iso_date(**kwargs: Any) -> forms.DateField:
    kwargs.setdefault("required", False)
    return forms.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
        **kwargs,
    )


def money(**kwargs: Any) -> forms.DecimalField:
    kwargs.setdefault("required", False)
    return forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), localize=False, **kwargs
    )


def text(max_length: int, **kwargs: Any) -> forms.CharField:
    kwargs.setdefault("required", False)
    return forms.CharField(max_length=max_length, **kwargs)


country_code = RegexValidator(r"^[A-Za-z]{2}$", _("Use a two-letter ISO 3166 code, e.g. US."))
currency_code = RegexValidator(r"^[A-Za-z]{3}$", _("Use a three-letter ISO 4217 code, e.g. EUR."))


class _RowForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("country", "currency"):
            if data.get(name):
                data[name] = data[name].upper()
        return data


class AccountRefForm(forms.Form):
    """The cells that say which account a row is for; rows of other imports use it too."""

    account_external_id = text(100)
    account_name = text(200)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("account_external_id") and not data.get("account_name"):
            raise ValidationError(_("Give the account: account_external_id or account_name."))
        return data


# Rows ---------------------------------------------------------------------------------


class AccountRowForm(_RowForm):
    external_id = text(100)
    name = text(200, required=True)
    domain = text(200)
    industry = text(100)
    country = text(2, validators=[country_code])
    currency = text(3, validators=[currency_code])
    tier = CsvChoiceField(Tier)
    touch_model = CsvChoiceField(TouchModel)
    business_model = CsvChoiceField(BusinessModel)
    lifecycle_stage = CsvChoiceField(LifecycleStage)
    status = CsvChoiceField(AccountStatus)
    customer_since = iso_date()
    churned_at = iso_date()
    owner = text(254)
    years_in_business = forms.IntegerField(required=False, min_value=0, max_value=1000)
    single_decision_maker = CsvBooleanField()
    next_tier_price_threshold = money()
    tags = text(1000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, churned = data.get("customer_since"), data.get("churned_at")
        if since and churned and churned < since:
            self.add_error("churned_at", _("Churned before becoming a customer."))
        return data


class ContactRowForm(AccountRefForm, _RowForm):
    first_name = text(100, required=True)
    last_name = text(100)
    email = forms.EmailField(required=False, max_length=254)
    phone = text(50)
    title = text(150)
    department = text(100)
    power_role = CsvChoiceField(PowerRole)
    is_primary = CsvBooleanField()
    birthday = iso_date()
    anniversary = iso_date()


class SubscriptionRowForm(AccountRefForm, _RowForm):
    plan_name = text(100, required=True)
    product = text(100)
    quantity = forms.IntegerField(required=False, min_value=0, max_value=2_147_483_647)
    unit_price = money(required=True)
    discount_type = CsvChoiceField(DiscountType)
    discount_value = money()
    billing_period = CsvChoiceField(BillingPeriod, required=True)
    billing_period_months = forms.IntegerField(required=False, min_value=1, max_value=120)
    currency = text(3, validators=[currency_code])
    one_time_fees = money()
    signed_on = iso_date()
    start_date = iso_date(required=True)
    end_date = iso_date()
    notice_period_days = forms.IntegerField(required=False, min_value=0, max_value=3650)
    auto_renew = CsvBooleanField()
    status = CsvChoiceField(SubscriptionStatus)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date is before the start date."))
        if data.get("billing_period") == BillingPeriod.CUSTOM and not data.get(
            "billing_period_months"
        ):
            self.add_error(
                "billing_period_months",
                _("Give the number of months for an 'every N months' billing period."),
            )
        discount_type, discount_value = data.get("discount_type"), data.get("discount_value")
        if discount_value and not discount_type:
            self.add_error("discount_type", _("Say whether the discount is percent or amount."))
        if discount_type == DiscountType.PERCENT and discount_value and discount_value > 100:
            self.add_error("discount_value", _("A percent discount cannot exceed 100."))
        return data


ROW_FORMS: dict[str, type[forms.Form]] = {
    ImportKind.ACCOUNTS: AccountRowForm,
    ImportKind.CONTACTS: ContactRowForm,
    ImportKind.SUBSCRIPTIONS: SubscriptionRowForm,
}
