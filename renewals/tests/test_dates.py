"""Notice deadlines and next terms across month ends and leap years, in Python and in SQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.models import Value
from django.db.models.sql import Query

from accounts.tests.factories import AccountFactory
from csplatform.sql import DaysBefore
from renewals.models import Renewal
from renewals.services.closing import next_term_end, notice_deadline
from renewals.services.sync import renewals_sync
from renewals.tests.factories import annual_line

D = dt.date

# end date, notice days, cancellation deadline (hand-computed)
DEADLINES = [
    (D(2024, 3, 30), 30, D(2024, 2, 29)),  # back over a leap day
    (D(2024, 3, 1), 1, D(2024, 2, 29)),
    (D(2023, 3, 1), 1, D(2023, 2, 28)),  # not a leap year
    (D(2025, 3, 31), 30, D(2025, 3, 1)),  # February has 28 days
    (D(2024, 3, 31), 30, D(2024, 3, 1)),  # ... or 29
    (D(2025, 1, 31), 31, D(2024, 12, 31)),  # over a year end
    (D(2025, 1, 15), 90, D(2024, 10, 17)),
    (D(2024, 12, 31), 366, D(2023, 12, 31)),  # a whole leap year back
    (D(2100, 3, 1), 1, D(2100, 2, 28)),  # 2100 is not a leap year
    (D(2025, 6, 30), 0, D(2025, 6, 30)),
]


@pytest.mark.parametrize(("end", "days", "expected"), DEADLINES)
def test_notice_deadline_counts_calendar_days(end, days, expected):
    assert notice_deadline(end_date=end, notice_period_days=days) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("end", "days", "expected"), DEADLINES)
def test_the_roll_forward_writes_the_same_deadline_from_sql(end, days, expected):
    line = annual_line(AccountFactory(), renews_on=end, notice_period_days=days)
    # As the sweep saw it a few days before the renewal.
    renewals_sync(account_ids=[line.account_id], today=end - dt.timedelta(days=3))
    renewal = Renewal.objects.get(subscription=line)
    assert renewal.notice_deadline == expected
    # Following an amended line computes it in SQL (DaysBefore) on the database itself.
    Renewal.objects.filter(pk=renewal.pk).update(notice_deadline=D(2000, 1, 1))
    renewals_sync(account_ids=[line.account_id], today=end - dt.timedelta(days=3))
    assert Renewal.objects.get(pk=renewal.pk).notice_deadline == expected
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
@pytest.mark.parametrize(("end", "days", "expected"), DEADLINES)
def test_days_before_gives_the_same_date_on_sqlite(end, days, expected):
    sqlite = SQLiteWrapper(
        alias="sqlite_check",
        settings_dict={
            "NAME": ":memory:",
            "ENGINE": "django.db.backends.sqlite3",
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        },
    )
    try:
        compiler = Query(None).get_compiler(connection=sqlite)
        sql, params = DaysBefore(Value(end), Value(days)).as_sqlite(compiler, sqlite)
        with sqlite.cursor() as cursor:
            cursor.execute(f"SELECT {sql}", params)
            (value,) = cursor.fetchone()
    finally:
        sqlite.close()
    assert D.fromisoformat(value) == expected


# term start, term end, next term starts, expected end of the next term
TERMS = [
    (D(2023, 3, 1), D(2024, 3, 1), D(2024, 3, 1), D(2025, 3, 1)),  # anniversary convention
    (D(2023, 3, 1), D(2024, 2, 29), D(2024, 2, 29), D(2025, 2, 28)),  # day-before convention
    (D(2024, 1, 31), D(2024, 2, 29), D(2024, 2, 29), D(2024, 3, 29)),  # a month
    (D(2023, 12, 31), D(2024, 1, 31), D(2024, 1, 31), D(2024, 2, 29)),  # to a leap day
    (D(2024, 2, 29), D(2025, 2, 28), D(2025, 2, 28), D(2026, 2, 28)),
    (D(2024, 8, 31), D(2024, 11, 30), D(2024, 11, 30), D(2025, 2, 28)),  # a quarter
    (D(2023, 1, 1), D(2025, 1, 1), D(2025, 1, 1), D(2027, 1, 1)),  # two years
]


@pytest.mark.parametrize(("start", "end", "next_start", "expected"), TERMS)
def test_the_next_term_is_as_long_as_the_current_one(start, end, next_start, expected):
    from accounts.models import Subscription

    line = Subscription(start_date=start, end_date=end)
    assert next_term_end(line, start=next_start) == expected
