"""SQL that runs on both databases the platform supports.

The apps write set-based statements once, for PostgreSQL and for the SQLite database of a
zero-configuration start; `Dialect` supplies the fragments in which the two differ (date
arithmetic, JSON, a few functions), so one statement is tested on PostgreSQL and still runs
on SQLite.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import DateField, Func


def dialect() -> Dialect:
    """The dialect of the default database connection."""
    return Dialect(connection.vendor)


@dataclass(frozen=True)
class Dialect:
    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    @property
    def materialized(self) -> str:
        """Evaluate a CTE once: both databases would otherwise inline a CTE used once into
        the query that uses it (SQLite knows the hint from 3.35 on)."""
        if self.pg or sqlite3.sqlite_version_info >= (3, 35):
            return "MATERIALIZED "
        return ""

    def month_start(self, expr: str) -> str:
        if self.pg:
            return f"CAST(date_trunc('month', {expr}) AS date)"
        return f"date({expr}, 'start of month')"

    def period_start(self, kind: str, expr: str) -> str:
        """First day of the day/ISO week/month/quarter/year that contains the date `expr`."""
        if kind == "day":
            return expr
        if self.pg:
            return f"CAST(date_trunc('{kind}', {expr}) AS date)"
        if kind == "week":
            # 'weekday 0' moves to the Sunday ending the ISO week (or stays on a Sunday).
            return f"date({expr}, 'weekday 0', '-6 days')"
        if kind == "month":
            return f"date({expr}, 'start of month')"
        if kind == "quarter":
            return (
                f"date({expr}, 'start of month', "
                f"'-' || ((CAST(strftime('%%m', {expr}) AS INTEGER) - 1) %% 3) || ' months')"
            )
        return f"date({expr}, 'start of year')"

    def period_end(self, kind: str, start_expr: str) -> str:
        """Last day of the week/month/quarter/year that starts on the date `start_expr`."""
        length = {
            "week": ("7 days", "+7 days"),
            "month": ("1 month", "+1 month"),
            "quarter": ("3 months", "+3 months"),
            "year": ("1 year", "+1 year"),
        }[kind]
        if self.pg:
            return f"CAST({start_expr} + interval '{length[0]}' - interval '1 day' AS date)"
        return f"date({start_expr}, '{length[1]}', '-1 day')"

    def date(self, name: str) -> str:
        """A named date parameter."""
        return f"CAST(%({name})s AS date)" if self.pg else f"%({name})s"

    def add(self, expr: str, days: int) -> str:
        if self.pg:
            return f"({expr} + {days})"
        return f"date({expr}, '{days:+d} days')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def days_between(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def hours_between(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"
        return f"((julianday({later}) - julianday({earlier})) * 24.0)"

    def day_of(self, ts: str) -> str:
        """The UTC calendar day of an aware timestamp."""
        return f"CAST(({ts} AT TIME ZONE 'UTC') AS date)" if self.pg else f"date({ts})"

    def day_start(self, expr: str) -> str:
        """Midnight UTC at the start of the date `expr`, comparable with stored timestamps."""
        if self.pg:
            return f"(CAST({expr} AS timestamp) AT TIME ZONE 'UTC')"
        # Django stores SQLite datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return f"({expr} || ' 00:00:00')"

    def json_array(self, items: list[str]) -> str:
        return ("json_build_array(" if self.pg else "json_array(") + ", ".join(items) + ")"

    def json_object(self, pairs: dict[str, str]) -> str:
        args = ", ".join(f"'{k}', {v}" for k, v in pairs.items())
        return ("json_build_object(" if self.pg else "json_object(") + args + ")"

    def json_number(self, column: str, key: str) -> str:
        """The number under text `key` (a placeholder) of JSON `column`; NULL when it is
        missing or not a number."""
        if self.pg:
            return (
                f"CASE WHEN jsonb_typeof({column} -> {key}) = 'number'"
                f" THEN CAST({column} ->> {key} AS numeric) END"
            )
        path = f"'$.\"' || {key} || '\"'"
        return (
            f"CASE WHEN json_type({column}, {path}) IN ('integer', 'real')"
            f" THEN json_extract({column}, {path}) END"
        )

    def round2(self, expr: str) -> str:
        """`expr` rounded to two decimals (PostgreSQL's ROUND wants a numeric)."""
        return f"ROUND(CAST({expr} AS numeric), 2)" if self.pg else f"ROUND({expr}, 2)"


def jit_off() -> None:
    """Switch PostgreSQL's JIT off for the current transaction.

    The platform's set-based statements are wide (dozens of expressions, subqueries in
    CASEs): compiling them costs far more than running them, often seconds.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


class DaysBefore(Func):
    """ORM expression: the date `days` (an integer expression) days before `date`.

    For queries that subtract a column of days from a date column (a notice period from an
    end date), which Django's own arithmetic cannot express on SQLite.
    """

    arity = 2
    output_field = DateField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '-' || ",
            **extra,
        )
