"""SQL of the metric engine, written once for PostgreSQL and SQLite.

The statements differ between the two databases only in date arithmetic and a few scalar
functions; `Dialect` supplies those fragments so that one statement is tested on PostgreSQL
and still runs on the SQLite database of `make run`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    @property
    def materialized(self) -> str:
        """Evaluate a CTE once (PostgreSQL would otherwise inline it into every join)."""
        return "MATERIALIZED " if self.pg else ""

    def month_start(self, expr: str) -> str:
        if self.pg:
            return f"CAST(date_trunc('month', {expr}) AS date)"
        return f"date({expr}, 'start of month')"

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


def subscriptions_cte(d: Dialect) -> str:
    """Paid subscription lines with the last day on which each one counts towards MRR.

    A line counts from its start date to its end date, both included (a cancellation sets
    the end date to the effective date). When a successor line of the same account and
    product starts exactly on the end date (a renewal written with end = next start), the
    old line stops the day before, so the hand-over day is counted once.
    """
    return f"""
    subs AS {d.materialized}(
        SELECT s.account_id, s.mrr, s.start_date,
            CASE WHEN s.end_date IS NOT NULL AND EXISTS (
                SELECT 1 FROM accounts_subscription n
                WHERE n.account_id = s.account_id AND n.product = s.product
                  AND n.status <> 'trial' AND n.id <> s.id AND n.start_date = s.end_date
                  AND n.start_date > s.start_date
            ) THEN {d.add("s.end_date", -1)} ELSE s.end_date END AS last_day
        FROM accounts_subscription s
        WHERE s.status <> 'trial'
    )"""


def account_daily_sql(d: Dialect) -> str:
    """One INSERT … SELECT … ON CONFLICT that writes AccountDailyMetrics for every account
    and every day of [start, end].

    Windowed figures (MRR, WAU, MAU, events and tickets over 30 days, NPS/CSAT over 365
    days, open tickets) are computed with spans: each source row covers a run of days, the
    run becomes +v on its first day and −v the day after its last, and a running sum over
    the account's days gives the figure. Per user, a span ends the day before that user's
    next active day, so a user is counted once however often they were active (distinct
    users without a COUNT(DISTINCT) per day).
    """
    start, end = d.date("start"), d.date("end")

    cols = [
        "mrr",
        "wau",
        "mau",
        "events",
        "core",
        "topen",
        "t30",
        "prom",
        "det",
        "npsn",
        "sat",
        "csatn",
    ]

    def delta(day: str, values: dict[str, str], source: str) -> str:
        # Deltas dated before the range are moved to its first day: the running sum on a
        # day is the sum of every delta up to that day, wherever its span began.
        exprs = ", ".join(f"{values.get(c, '0')} AS {c}" for c in cols)
        return (
            f"SELECT account_id, {d.greatest(day, start)} AS day, {exprs} {source}"
            f" {'AND' if ' WHERE ' in source else 'WHERE'} {day} <= {end}"
        )

    survey = {
        "prom": "CASE WHEN kind = 'nps' AND score >= 9 THEN 1 ELSE 0 END",
        "det": "CASE WHEN kind = 'nps' AND score <= 6 THEN 1 ELSE 0 END",
        "npsn": "CASE WHEN kind = 'nps' THEN 1 ELSE 0 END",
        "sat": "CASE WHEN kind = 'csat' AND score >= 4 THEN 1 ELSE 0 END",
        "csatn": "CASE WHEN kind = 'csat' THEN 1 ELSE 0 END",
    }

    def next_or(days: int) -> str:
        return d.least(d.add("date", days), f"COALESCE(next_date, {d.add('date', days)})")

    deltas = [
        delta("start_date", {"mrr": "mrr"}, "FROM subs"),
        delta(d.add("last_day", 1), {"mrr": "-mrr"}, "FROM subs WHERE last_day IS NOT NULL"),
        # Per user, a span ends on the day before that user's next active day.
        delta("date", {"wau": "1", "mau": "1"}, "FROM act"),
        delta(next_or(7), {"wau": "-1"}, "FROM act"),
        delta(next_or(30), {"mau": "-1"}, "FROM act"),
        delta("date", {"core": "1"}, "FROM feat"),
        delta(next_or(30), {"core": "-1"}, "FROM feat"),
        delta("date", {"events": "events"}, "FROM usage_30"),
        delta(d.add("date", 30), {"events": "-events"}, "FROM usage_30"),
        delta("opened_d", {"topen": "1"}, "FROM tick"),
        delta("resolved_d", {"topen": "-1"}, "FROM tick WHERE resolved_d IS NOT NULL"),
        delta("opened_d", {"t30": "1"}, "FROM tick"),
        delta(d.add("opened_d", 30), {"t30": "-1"}, "FROM tick"),
        delta("resp_d", survey, "FROM resp"),
        delta(d.add("resp_d", 365), {k: f"-{v}" for k, v in survey.items()}, "FROM resp"),
    ]
    sums = ", ".join(f"SUM({c}) AS {c}" for c in cols)
    running = ", ".join(f"SUM(COALESCE(x.{c}, 0)) OVER w AS {c}" for c in cols)
    return f"""
    WITH RECURSIVE days(d) AS (
        SELECT {start} UNION ALL SELECT {d.add("d", 1)} FROM days WHERE d < {end}
    ),
    {subscriptions_cte(d)},
    act AS (
        SELECT account_id, date,
            LEAD(date) OVER (PARTITION BY end_user_id, account_id ORDER BY date) AS next_date
        FROM metrics_enduserdailyactivity
        WHERE date >= {d.add(start, -29)} AND date <= {end}
    ),
    feat AS (
        SELECT u.account_id, u.date,
            LEAD(u.date) OVER (PARTITION BY u.account_id, u.feature_id ORDER BY u.date)
                AS next_date
        FROM metrics_accountfeaturedailyusage u
        JOIN metrics_feature f ON f.id = u.feature_id
        WHERE f.is_core AND u.events > 0
          AND u.date >= {d.add(start, -29)} AND u.date <= {end}
    ),
    tick AS (
        SELECT account_id, {d.day_of("opened_at")} AS opened_d,
            {d.day_of("resolved_at")} AS resolved_d
        FROM metrics_ticket
        WHERE opened_at < %(end_next_dt)s
          AND (resolved_at IS NULL OR resolved_at >= %(start_dt)s
               OR opened_at >= %(start_30_dt)s)
    ),
    resp AS (
        SELECT account_id, kind, score, {d.day_of("responded_at")} AS resp_d
        FROM metrics_surveyresponse
        WHERE kind IN ('nps', 'csat')
          AND responded_at >= %(start_365_dt)s AND responded_at < %(end_next_dt)s
    ),
    usage_30 AS (
        SELECT account_id, date, events FROM metrics_accountdailyusage
        WHERE date >= {d.add(start, -29)} AND date <= {end}
    ),
    deltas AS (
        {" UNION ALL ".join(deltas)}
    ),
    agg AS (
        SELECT account_id, day, {sums} FROM deltas GROUP BY account_id, day
    ),
    daily AS (
        SELECT account_id, date, COUNT(*) AS dau FROM metrics_enduserdailyactivity
        WHERE date >= {start} AND date <= {end} GROUP BY account_id, date
    ),
    seen AS (
        SELECT account_id, MAX(date) AS last_day FROM metrics_accountdailyusage
        WHERE events > 0 AND date < {start} GROUP BY account_id
    ),
    core_features AS (
        SELECT days.d, COUNT(f.id) AS n FROM days
        LEFT JOIN metrics_feature f
          ON f.is_core AND (f.release_date IS NULL OR f.release_date <= days.d)
        GROUP BY days.d
    ),
    run AS (
        SELECT g.account_id, g.d, {running},
            MAX(CASE WHEN u.events > 0 THEN u.date END) OVER w AS last_seen
        FROM (SELECT a.id AS account_id, days.d FROM accounts_account a CROSS JOIN days) g
        LEFT JOIN agg x ON x.account_id = g.account_id AND x.day = g.d
        LEFT JOIN metrics_accountdailyusage u ON u.account_id = g.account_id AND u.date = g.d
        WINDOW w AS (PARTITION BY g.account_id ORDER BY g.d ROWS UNBOUNDED PRECEDING)
    )
    INSERT INTO metrics_accountdailymetrics (
        account_id, date, mrr, dau, wau, mau, events_30d, core_adoption_30d,
        days_since_last_activity, tickets_open, tickets_30d, nps_365d, csat_365d, computed_at
    )
    SELECT r.account_id, r.d, r.mrr, COALESCE(dl.dau, 0), r.wau, r.mau, r.events,
        CASE WHEN cf.n > 0 THEN ROUND(100.0 * r.core / cf.n, 2) END,
        {d.days_between("r.d", "COALESCE(r.last_seen, s.last_day)")},
        r.topen, r.t30,
        CASE WHEN r.npsn > 0 THEN ROUND(100.0 * (r.prom - r.det) / r.npsn, 2) END,
        CASE WHEN r.csatn > 0 THEN ROUND(100.0 * r.sat / r.csatn, 2) END,
        %(now)s
    FROM run r
    JOIN core_features cf ON cf.d = r.d
    LEFT JOIN daily dl ON dl.account_id = r.account_id AND dl.date = r.d
    LEFT JOIN seen s ON s.account_id = r.account_id
    WHERE 1 = 1
    ON CONFLICT (account_id, date) DO UPDATE SET
        mrr = excluded.mrr, dau = excluded.dau, wau = excluded.wau, mau = excluded.mau,
        events_30d = excluded.events_30d, core_adoption_30d = excluded.core_adoption_30d,
        days_since_last_activity = excluded.days_since_last_activity,
        tickets_open = excluded.tickets_open, tickets_30d = excluded.tickets_30d,
        nps_365d = excluded.nps_365d, csat_365d = excluded.csat_365d,
        computed_at = excluded.computed_at
    """


def periods_cte(d: Dialect, count: int) -> str:
    """`periods(pkind, pdate, ps, pe, open_d, pe_next, w_start, m_start)` from parameters.

    pdate is the period's last day (the snapshot's date); pe is the last day computed
    (earlier than pdate for the current period, "to date"); open_d is the day before ps.
    """
    rows = []
    for i in range(count):
        dates = ", ".join(
            d.date(f"p{i}_{c}") for c in ("pdate", "ps", "pe", "open_d", "pe_next", "m_start")
        )
        rows.append(f"(%(p{i}_kind)s, {dates})")
    return (
        "periods(pkind, pdate, ps, pe, open_d, pe_next, m_start) AS (VALUES "
        + ", ".join(rows)
        + ")"
    )


def calendar_cte(d: Dialect) -> str:
    """`cal(pkind, pdate, d)`: every day of every period, so daily rows join on equality."""
    return f"""
    days(d) AS (
        SELECT {d.date("cal_start")} UNION ALL
        SELECT {d.add("d", 1)} FROM days WHERE d < {d.date("cal_end")}
    ),
    cal AS (
        SELECT p.pkind, p.pdate, days.d FROM periods p
        JOIN days ON days.d >= p.ps AND days.d <= p.pe
    )"""


def account_movements_cte(d: Dialect) -> str:
    """Per period and account: opening and closing MRR, and whether it ever paid before."""
    return """
    acct AS (
        SELECT p.pkind, p.pdate, s.account_id,
            SUM(CASE WHEN s.start_date <= p.open_d
                      AND (s.last_day IS NULL OR s.last_day >= p.open_d)
                 THEN s.mrr ELSE 0 END) AS opening,
            SUM(CASE WHEN s.start_date <= p.pe
                      AND (s.last_day IS NULL OR s.last_day >= p.pe)
                 THEN s.mrr ELSE 0 END) AS closing,
            MAX(CASE WHEN s.start_date < p.ps AND s.mrr > 0
                      AND (s.last_day IS NULL OR s.last_day >= s.start_date)
                 THEN 1 ELSE 0 END) AS had_before
        FROM periods p JOIN subs s ON s.start_date <= p.pe
        GROUP BY p.pkind, p.pdate, s.account_id
    )"""


def movements_insert_sql(d: Dialect, months: int) -> str:
    """INSERT … SELECT of MrrMovement rows for the given months (periods of kind 'month')."""
    return f"""
    WITH {periods_cte(d, months)},
    {subscriptions_cte(d)},
    {account_movements_cte(d)}
    INSERT INTO metrics_mrrmovement (account_id, month, kind, amount, opening_mrr, closing_mrr)
    SELECT account_id, month, kind, amount, opening, closing FROM (
        SELECT x.account_id, p.ps AS month, x.opening, x.closing,
            CASE
                WHEN x.opening = 0 AND x.closing > 0 AND x.had_before = 0 THEN 'new'
                WHEN x.opening = 0 AND x.closing > 0 THEN 'reactivation'
                WHEN x.opening > 0 AND x.closing = 0 THEN 'churn'
                WHEN x.closing > x.opening THEN 'expansion'
                WHEN x.closing < x.opening THEN 'contraction'
            END AS kind,
            CASE WHEN x.closing > x.opening THEN x.closing - x.opening
                 ELSE x.opening - x.closing END AS amount
        FROM acct x JOIN periods p ON p.pkind = x.pkind AND p.pdate = x.pdate
    ) m
    WHERE kind IS NOT NULL
    """


# Additive per-period facts, summed per (period, tier, touch model, business model); the
# engine adds those groups up into the portfolio and each segment.
FACT_COLUMNS = (
    "opening",
    "closing",
    "new",
    "expansion",
    "contraction",
    "churned",
    "reactivation",
    "s_customers",
    "e_customers",
    "n_customers",
    "lost",
    "winback_pool",
    "won_back",
    "user_days",
    "active_users",
    "logins_without_action",
    "core_users",
    "wau",
    "mau",
    "promoters",
    "detractors",
    "nps_n",
    "satisfied",
    "csat_n",
    "ces_sum",
    "ces_n",
    "tickets",
    "frt_sum",
    "frt_n",
    "res_sum",
    "res_n",
    "new_users",
    "new_users_active",
    "trials",
    "trials_converted",
    "lifetime_days",
    "lifetime_n",
)


def period_facts_sql(d: Dialect, periods: int) -> str:
    def fact(values: dict[str, str], source: str, where: str = "") -> str:
        # Each source sums its own columns per (period, segment fields) before the union,
        # so the union carries a few thousand rows instead of one per period and account.
        exprs = ", ".join(
            f"SUM({values[c]}) AS {c}" if c in values else f"0 AS {c}" for c in FACT_COLUMNS
        )
        return (
            f"SELECT p.pkind, p.pdate, a.tier, a.touch_model, a.business_model, {exprs}"
            f" {source} JOIN accounts_account a ON a.id = x.account_id {where}"
            " GROUP BY p.pkind, p.pdate, a.tier, a.touch_model, a.business_model"
        )

    sources = [
        fact(
            {
                "opening": "x.opening",
                "closing": "x.closing",
                "new": "CASE WHEN x.opening = 0 AND x.had_before = 0 THEN x.closing ELSE 0 END",
                "reactivation": (
                    "CASE WHEN x.opening = 0 AND x.had_before = 1 THEN x.closing ELSE 0 END"
                ),
                "churned": "CASE WHEN x.closing = 0 THEN x.opening ELSE 0 END",
                "expansion": (
                    "CASE WHEN x.opening > 0 AND x.closing > x.opening"
                    " THEN x.closing - x.opening ELSE 0 END"
                ),
                "contraction": (
                    "CASE WHEN x.closing > 0 AND x.closing < x.opening"
                    " THEN x.opening - x.closing ELSE 0 END"
                ),
                "s_customers": "CASE WHEN x.opening > 0 THEN 1 ELSE 0 END",
                "e_customers": "CASE WHEN x.closing > 0 THEN 1 ELSE 0 END",
                "n_customers": "CASE WHEN x.opening = 0 AND x.closing > 0 THEN 1 ELSE 0 END",
                "lost": "CASE WHEN x.opening > 0 AND x.closing = 0 THEN 1 ELSE 0 END",
                "winback_pool": "CASE WHEN x.opening = 0 AND x.had_before = 1 THEN 1 ELSE 0 END",
                "won_back": (
                    "CASE WHEN x.opening = 0 AND x.had_before = 1 AND x.closing > 0"
                    " THEN 1 ELSE 0 END"
                ),
            },
            "FROM acct x JOIN periods p ON p.pkind = x.pkind AND p.pdate = x.pdate",
        ),
        fact(
            {
                "user_days": "x.days",
                "active_users": "1",
                "logins_without_action": "CASE WHEN x.core = 0 THEN 1 ELSE 0 END",
            },
            # A user has one row per day: day periods need no per-user grouping.
            "FROM (SELECT p.pkind, p.pdate, e.account_id, e.end_user_id, 1 AS days,"
            " e.core_events AS core FROM cal p"
            " JOIN metrics_enduserdailyactivity e ON e.date = p.d WHERE p.pkind = 'day'"
            " UNION ALL"
            " SELECT p.pkind, p.pdate, e.account_id, e.end_user_id, COUNT(*) AS days,"
            " SUM(e.core_events) AS core FROM cal p"
            " JOIN metrics_enduserdailyactivity e ON e.date = p.d WHERE p.pkind = 'week'"
            " GROUP BY p.pkind, p.pdate, e.account_id, e.end_user_id"
            # Months, quarters and years are made of whole months: add up per-user months.
            " UNION ALL"
            " SELECT p.pkind, p.pdate, u.account_id, u.end_user_id, SUM(u.days) AS days,"
            " SUM(u.core) AS core FROM periods p JOIN user_months u"
            " ON u.m >= p.ps AND u.m <= p.pe WHERE p.pkind IN ('month', 'quarter', 'year')"
            " GROUP BY p.pkind, p.pdate, u.account_id, u.end_user_id) x"
            " JOIN periods p ON p.pkind = x.pkind AND p.pdate = x.pdate",
        ),
        fact(
            {"core_users": "1"},
            "FROM (SELECT p.pkind, p.pdate, e.account_id, e.end_user_id FROM cal p"
            " JOIN metrics_enduserfeaturedaily e ON e.date = p.d"
            " JOIN metrics_feature f ON f.id = e.feature_id AND f.is_core"
            " WHERE p.pkind IN ('day', 'week')"
            " UNION"
            " SELECT p.pkind, p.pdate, c.account_id, c.end_user_id FROM periods p"
            " JOIN core_months c ON c.m >= p.ps AND c.m <= p.pe"
            " WHERE p.pkind IN ('month', 'quarter', 'year')) x"
            " JOIN periods p ON p.pkind = x.pkind AND p.pdate = x.pdate",
        ),
        fact(
            {"wau": "x.wau", "mau": "x.mau"},
            "FROM periods p JOIN metrics_accountdailymetrics x ON x.date = p.pe",
        ),
        fact(
            {
                "promoters": "CASE WHEN x.kind = 'nps' AND x.score >= 9 THEN 1 ELSE 0 END",
                "detractors": "CASE WHEN x.kind = 'nps' AND x.score <= 6 THEN 1 ELSE 0 END",
                "nps_n": "CASE WHEN x.kind = 'nps' THEN 1 ELSE 0 END",
                "satisfied": "CASE WHEN x.kind = 'csat' AND x.score >= 4 THEN 1 ELSE 0 END",
                "csat_n": "CASE WHEN x.kind = 'csat' THEN 1 ELSE 0 END",
                "ces_sum": "CASE WHEN x.kind = 'ces' THEN x.score ELSE 0 END",
                "ces_n": "CASE WHEN x.kind = 'ces' THEN 1 ELSE 0 END",
            },
            "FROM periods p JOIN metrics_surveyresponse x"
            " ON x.responded_at >= p.ps AND x.responded_at < p.pe_next",
        ),
        fact(
            {
                "tickets": "1",
                "frt_sum": (
                    "CASE WHEN x.first_response_at IS NULL THEN 0 ELSE "
                    + d.hours_between("x.first_response_at", "x.opened_at")
                    + " END"
                ),
                "frt_n": "CASE WHEN x.first_response_at IS NULL THEN 0 ELSE 1 END",
            },
            "FROM periods p JOIN metrics_ticket x"
            " ON x.opened_at >= p.ps AND x.opened_at < p.pe_next",
        ),
        fact(
            {"res_sum": d.hours_between("x.resolved_at", "x.opened_at"), "res_n": "1"},
            "FROM periods p JOIN metrics_ticket x"
            " ON x.resolved_at >= p.ps AND x.resolved_at < p.pe_next",
        ),
        fact(
            {
                "new_users": "1",
                "new_users_active": (
                    "CASE WHEN c.first_core IS NOT NULL AND c.first_core <= p.pe THEN 1 ELSE 0 END"
                ),
            },
            "FROM periods p JOIN metrics_enduser x"
            " ON x.first_seen_at >= p.ps AND x.first_seen_at < p.pe_next"
            " LEFT JOIN first_core c ON c.end_user_id = x.id",
            "WHERE x.account_id IS NOT NULL",
        ),
        fact(
            {
                "trials": "1",
                "trials_converted": (
                    "CASE WHEN EXISTS (SELECT 1 FROM accounts_subscription n"
                    " WHERE n.account_id = x.account_id AND n.status <> 'trial' AND n.mrr > 0"
                    " AND n.start_date >= x.start_date AND n.start_date <= p.pe)"
                    " THEN 1 ELSE 0 END"
                ),
            },
            "FROM periods p JOIN accounts_subscription x"
            " ON x.status = 'trial' AND x.end_date >= p.ps AND x.end_date <= p.pe",
        ),
        fact(
            {
                "lifetime_days": d.days_between("x.churned_at", "x.customer_since"),
                "lifetime_n": "1",
            },
            "FROM periods p JOIN (SELECT id AS account_id, churned_at, customer_since"
            " FROM accounts_account) x ON x.churned_at <= p.pe AND x.customer_since IS NOT NULL",
        ),
    ]
    sums = ", ".join(f"SUM(f.{c})" for c in FACT_COLUMNS)
    return f"""
    WITH RECURSIVE {periods_cte(d, periods)},
    {calendar_cte(d)},
    {subscriptions_cte(d)},
    {account_movements_cte(d)},
    user_months AS (
        SELECT account_id, end_user_id, {d.month_start("date")} AS m, COUNT(*) AS days,
            SUM(core_events) AS core
        FROM metrics_enduserdailyactivity
        WHERE date >= {d.date("cal_start")} AND date <= {d.date("cal_end")}
        GROUP BY account_id, end_user_id, {d.month_start("date")}
    ),
    core_months AS (
        SELECT DISTINCT e.account_id, e.end_user_id, {d.month_start("e.date")} AS m
        FROM metrics_enduserfeaturedaily e
        JOIN metrics_feature f ON f.id = e.feature_id AND f.is_core
        WHERE e.date >= {d.date("cal_start")} AND e.date <= {d.date("cal_end")}
    ),
    first_core AS (
        SELECT end_user_id, MIN(date) AS first_core FROM metrics_enduserdailyactivity
        WHERE core_events > 0 AND date <= {d.date("cal_end")} GROUP BY end_user_id
    ),
    facts AS (
        {" UNION ALL ".join(sources)}
    )
    SELECT f.pkind, f.pdate, f.tier, f.touch_model, f.business_model, {sums}
    FROM facts f
    GROUP BY f.pkind, f.pdate, f.tier, f.touch_model, f.business_model
    """


def feature_adoption_sql(d: Dialect, windows: int) -> str:
    """Per feature window: distinct users of the feature, and distinct active users where
    the window was cut short by the release (shifted); the engine has the others already.

    `windows(pkind, pdate, feature_id, ws, pe)`: ws is the later of the period start and
    the feature's release date, so new features are measured since release.
    """
    rows = ", ".join(
        f"(%(w{i}_kind)s, {d.date(f'w{i}_pdate')}, %(w{i}_feature)s,"
        f" {d.date(f'w{i}_ws')}, {d.date(f'w{i}_pe')}, %(w{i}_shifted)s)"
        for i in range(windows)
    )
    return f"""
    WITH RECURSIVE windows(pkind, pdate, feature_id, ws, pe, shifted) AS (VALUES {rows}),
    days(d) AS (
        SELECT {d.date("cal_start")} UNION ALL
        SELECT {d.add("d", 1)} FROM days WHERE d < {d.date("cal_end")}
    ),
    spans AS (SELECT DISTINCT ws, pe FROM windows WHERE shifted = 1),
    span_days AS (
        SELECT s.ws, s.pe, days.d FROM spans s JOIN days ON days.d >= s.ws AND days.d <= s.pe
    ),
    active AS (
        SELECT s.ws, s.pe, COUNT(DISTINCT e.end_user_id) AS n FROM span_days s
        JOIN metrics_enduserdailyactivity e ON e.date = s.d
        GROUP BY s.ws, s.pe
    ),
    window_days AS (
        SELECT w.pkind, w.pdate, w.feature_id, days.d FROM windows w
        JOIN days ON days.d >= w.ws AND days.d <= w.pe
    ),
    users AS (
        SELECT w.pkind, w.pdate, w.feature_id, COUNT(DISTINCT e.end_user_id) AS n
        FROM window_days w JOIN metrics_enduserfeaturedaily e
          ON e.feature_id = w.feature_id AND e.date = w.d
        GROUP BY w.pkind, w.pdate, w.feature_id
    )
    SELECT w.pkind, w.pdate, w.feature_id, COALESCE(u.n, 0),
        CASE WHEN w.shifted = 1 THEN COALESCE(a.n, 0) END
    FROM windows w
    LEFT JOIN users u ON u.pkind = w.pkind AND u.pdate = w.pdate AND u.feature_id = w.feature_id
    LEFT JOIN active a ON a.ws = w.ws AND a.pe = w.pe
    """
