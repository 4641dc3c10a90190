"""SQL of the metric engine, written once for PostgreSQL and SQLite.

The statements differ between the two databases only in date arithmetic and a few scalar
functions; `Dialect` supplies those fragments so that one statement is tested on PostgreSQL
and still runs on the SQLite database of `make run`.

Every statement works on one *slice* of accounts, the ids from %(lo)s to %(hi)s: every
figure the engine stores is either a row of one account or a sum over accounts (end users
belong to one account, so even distinct-user counts add up across slices). The engine
runs slices one after the other, or side by side on separate connections.
"""

from __future__ import annotations

from csplatform.sql import Dialect

SCOPE = "BETWEEN %(lo)s AND %(hi)s"
# A set of accounts instead of a slice (PostgreSQL): the few whose signals just changed.
SCOPE_IDS = "= ANY(%(ids)s)"


def subscriptions_cte(d: Dialect, scope: str = SCOPE) -> str:
    """Paid subscription lines of the slice, with the last day each counts towards MRR.

    A line counts from its start date to its end date, both included (a cancellation sets
    the end date to the effective date). When a successor line of the same account and
    product starts exactly on the end date (a renewal written with end = next start), the
    old line stops the day before, so the hand-over day is counted once.
    """
    return f"""
    subs AS {d.materialized}(
        SELECT s.account_id, a.tier, a.touch_model, a.business_model, s.mrr, s.start_date,
            CASE WHEN s.end_date IS NOT NULL AND EXISTS (
                SELECT 1 FROM accounts_subscription n
                WHERE n.account_id = s.account_id AND n.product = s.product
                  AND n.status <> 'trial' AND n.id <> s.id AND n.start_date = s.end_date
                  AND n.start_date > s.start_date
            ) THEN {d.add("s.end_date", -1)} ELSE s.end_date END AS last_day
        FROM accounts_subscription s JOIN accounts_account a ON a.id = s.account_id
        WHERE s.status <> 'trial' AND s.account_id {scope}
    )"""


def account_daily_sql(d: Dialect, scope: str = SCOPE) -> str:
    """One INSERT … SELECT that writes AccountDailyMetrics for every account of the slice
    and every day of [start, end].

    Windowed figures (MRR, WAU, MAU, events and tickets over 30 days, NPS/CSAT over 365
    days, open tickets) are computed with spans: each source row covers a run of days, the
    run becomes +v on its first day and −v the day after its last, and a running sum over
    the account's days gives the figure. Per user, a span ends the day before that user's
    next active day, so a user is counted once however often they were active (distinct
    users without a COUNT(DISTINCT) per day). Counts stay integers all the way (a running
    sum of numerics costs several times as much).
    """
    start, end = d.date("start"), d.date("end")

    cols = [
        "mrr",
        "dau",
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
        # dau is read per day, not summed: only the range's own days count.
        delta(
            "date",
            {"dau": f"CASE WHEN date >= {start} THEN 1 ELSE 0 END", "wau": "1", "mau": "1"},
            "FROM act",
        ),
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
    sums = ", ".join(
        "SUM(mrr) AS mrr" if c == "mrr" else f"CAST(SUM({c}) AS INTEGER) AS {c}" for c in cols
    )
    running = ", ".join(
        f"COALESCE(x.{c}, 0) AS {c}" if c == "dau" else f"SUM(COALESCE(x.{c}, 0)) OVER w AS {c}"
        for c in cols
    )
    return f"""
    WITH RECURSIVE days(d) AS (
        SELECT {start} UNION ALL SELECT {d.add("d", 1)} FROM days WHERE d < {end}
    ),
    {subscriptions_cte(d, scope)},
    act AS (
        SELECT account_id, date,
            LEAD(date) OVER (PARTITION BY end_user_id, account_id ORDER BY date) AS next_date
        FROM metrics_enduserdailyactivity
        WHERE account_id {scope} AND date >= {d.add(start, -29)} AND date <= {end}
    ),
    feat AS (
        SELECT u.account_id, u.date,
            LEAD(u.date) OVER (PARTITION BY u.account_id, u.feature_id ORDER BY u.date)
                AS next_date
        FROM metrics_accountfeaturedailyusage u
        JOIN metrics_feature f ON f.id = u.feature_id
        WHERE f.is_core AND u.events > 0 AND u.account_id {scope}
          AND u.date >= {d.add(start, -29)} AND u.date <= {end}
    ),
    tick AS (
        SELECT account_id, {d.day_of("opened_at")} AS opened_d,
            {d.day_of("resolved_at")} AS resolved_d
        FROM metrics_ticket
        WHERE account_id {scope} AND opened_at < %(end_next_dt)s
          AND (resolved_at IS NULL OR resolved_at >= %(start_dt)s
               OR opened_at >= %(start_30_dt)s)
    ),
    resp AS (
        SELECT account_id, kind, score, {d.day_of("responded_at")} AS resp_d
        FROM metrics_surveyresponse
        WHERE account_id {scope} AND kind IN ('nps', 'csat')
          AND responded_at >= %(start_365_dt)s AND responded_at < %(end_next_dt)s
    ),
    usage_30 AS (
        SELECT account_id, date, events FROM metrics_accountdailyusage
        WHERE account_id {scope} AND date >= {d.add(start, -29)} AND date <= {end}
    ),
    usage_days AS (
        SELECT account_id, date, events FROM usage_30 WHERE date >= {start}
    ),
    deltas AS (
        {" UNION ALL ".join(deltas)}
    ),
    agg AS (
        SELECT account_id, day, {sums} FROM deltas GROUP BY account_id, day
    ),
    seen AS (
        SELECT account_id, MAX(date) AS last_day FROM metrics_accountdailyusage
        WHERE account_id {scope} AND events > 0 AND date < {start} GROUP BY account_id
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
        FROM (SELECT a.id AS account_id, days.d FROM accounts_account a CROSS JOIN days
              WHERE a.id {scope}) g
        LEFT JOIN agg x ON x.account_id = g.account_id AND x.day = g.d
        LEFT JOIN usage_days u ON u.account_id = g.account_id AND u.date = g.d
        WINDOW w AS (PARTITION BY g.account_id ORDER BY g.d ROWS UNBOUNDED PRECEDING)
    )
    INSERT INTO metrics_accountdailymetrics (
        account_id, date, mrr, dau, wau, mau, events_30d, core_adoption_30d,
        days_since_last_activity, tickets_open, tickets_30d, nps_365d, csat_365d, computed_at
    )
    SELECT r.account_id, r.d, r.mrr, r.dau, r.wau, r.mau, r.events,
        CASE WHEN cf.n > 0 THEN ROUND(100.0 * r.core / cf.n, 2) END,
        {d.days_between("r.d", "COALESCE(r.last_seen, s.last_day)")},
        r.topen, r.t30,
        CASE WHEN r.npsn > 0 THEN ROUND(100.0 * (r.prom - r.det) / r.npsn, 2) END,
        CASE WHEN r.csatn > 0 THEN ROUND(100.0 * r.sat / r.csatn, 2) END,
        %(now)s
    FROM run r
    JOIN core_features cf ON cf.d = r.d
    LEFT JOIN seen s ON s.account_id = r.account_id
    """


def periods_cte(d: Dialect, count: int) -> str:
    """`periods(pkind, pdate, ps, pe, open_d, pe_next, m_start)` from parameters.

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


def account_movements_cte(d: Dialect) -> str:
    """Per period and account: opening and closing MRR, and whether it ever paid before
    (with the account's segment fields, carried along so no later join is needed)."""
    return """
    acct AS (
        SELECT p.pkind, p.pdate, s.account_id, s.tier, s.touch_model, s.business_model,
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
        GROUP BY p.pkind, p.pdate, s.account_id, s.tier, s.touch_model, s.business_model
    )"""


def movements_insert_sql(d: Dialect, months: int) -> str:
    """INSERT … SELECT of the slice's MrrMovement rows for the given months."""
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
# engine adds those groups up over slices, then into the portfolio and each segment.
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


def _calendar_ctes(d: Dialect) -> str:
    """`cal(d, pkind, pdate, ps)`: every day of every period asked for (needs `periods`),
    so that a daily row finds each of its periods by an equality join on the day."""
    return f"""
    cal_days(d) AS (
        SELECT {d.date("cal_start")} UNION ALL
        SELECT {d.add("d", 1)} FROM cal_days WHERE d < {d.date("cal_end")}
    ),
    cal AS (
        SELECT c.d, p.pkind, p.pdate, p.ps FROM cal_days c
        JOIN periods p ON c.d >= p.ps AND c.d <= p.pe
    )"""


def period_facts_sql(d: Dialect, periods: int) -> str:
    """Facts of the slice's accounts per (period, tier, touch model, business model).

    Rows come as (kind, pdate, ps, tier, touch, business, *FACT_COLUMNS). Facts about end
    users come from one ordered pass over their active days, joined to every period each
    day falls in.
    """

    def fact(values: dict[str, str], source: str, *, has_segments: bool = False) -> str:
        # `has_segments`: the source carries the account's segment fields already.
        exprs = ", ".join(
            f"SUM({values[c]}) AS {c}" if c in values else f"0 AS {c}" for c in FACT_COLUMNS
        )
        a = "x" if has_segments else "a"
        join = "" if has_segments else " JOIN accounts_account a ON a.id = x.account_id"
        return (
            f"SELECT p.pkind, p.pdate, p.ps, {a}.tier, {a}.touch_model, {a}.business_model,"
            f" {exprs} {source}{join}"
            f" GROUP BY p.pkind, p.pdate, p.ps, {a}.tier, {a}.touch_model, {a}.business_model"
        )

    # A day counts its user once in a period when the user's previous active day falls
    # before the period starts: distinct users per period in one ordered pass.
    first = "CASE WHEN x.prev IS NULL OR x.prev < p.ps THEN 1 ELSE 0 END"
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
            has_segments=True,
        ),
        fact(
            {
                "user_days": "1",
                "active_users": first,
                # Active in the period, minus those with a core event in it.
                "logins_without_action": (
                    f"{first} - CASE WHEN x.core_events > 0"
                    " AND (x.prev_core IS NULL OR x.prev_core < p.ps) THEN 1 ELSE 0 END"
                ),
            },
            "FROM user_days x JOIN cal p ON p.d = x.date",
        ),
        fact({"core_users": first}, "FROM core_days x JOIN cal p ON p.d = x.date"),
        fact(
            {"wau": "x.wau", "mau": "x.mau"},
            "FROM periods p JOIN metrics_accountdailymetrics x ON x.date = p.pe"
            f" AND x.account_id {SCOPE}",
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
            " ON x.responded_at >= p.ps AND x.responded_at < p.pe_next"
            f" AND x.account_id {SCOPE}",
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
            " ON x.opened_at >= p.ps AND x.opened_at < p.pe_next"
            f" AND x.account_id {SCOPE}",
        ),
        fact(
            {"res_sum": d.hours_between("x.resolved_at", "x.opened_at"), "res_n": "1"},
            "FROM periods p JOIN metrics_ticket x"
            " ON x.resolved_at >= p.ps AND x.resolved_at < p.pe_next"
            f" AND x.account_id {SCOPE}",
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
            f" AND x.account_id {SCOPE}"
            " LEFT JOIN first_core c ON c.end_user_id = x.id",
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
            " ON x.status = 'trial' AND x.end_date >= p.ps AND x.end_date <= p.pe"
            f" AND x.account_id {SCOPE}",
        ),
        fact(
            {
                "lifetime_days": d.days_between("x.churned_at", "x.customer_since"),
                "lifetime_n": "1",
            },
            "FROM periods p JOIN (SELECT id AS account_id, churned_at, customer_since"
            f" FROM accounts_account WHERE id {SCOPE}) x"
            " ON x.churned_at <= p.pe AND x.customer_since IS NOT NULL",
        ),
    ]
    cal_start, cal_end = d.date("cal_start"), d.date("cal_end")
    prev = "OVER (PARTITION BY end_user_id, account_id ORDER BY date"
    sums = ", ".join(f"SUM({c})" for c in FACT_COLUMNS)
    return f"""
    WITH RECURSIVE {periods_cte(d, periods)},
    {_calendar_ctes(d)},
    {subscriptions_cte(d)},
    {account_movements_cte(d)},
    user_days AS {d.materialized}(
        SELECT account_id, date, core_events,
            LAG(date) {prev}) AS prev,
            MAX(CASE WHEN core_events > 0 THEN date END)
                {prev} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_core
        FROM metrics_enduserdailyactivity
        WHERE account_id {SCOPE} AND date >= {cal_start} AND date <= {cal_end}
    ),
    core_days AS (
        SELECT account_id, date, LAG(date) {prev}) AS prev
        FROM (SELECT DISTINCT e.account_id, e.end_user_id, e.date
              FROM metrics_enduserfeaturedaily e
              JOIN metrics_feature f ON f.id = e.feature_id AND f.is_core
              WHERE e.account_id {SCOPE} AND e.date >= {cal_start} AND e.date <= {cal_end}) c
    ),
    first_core AS (
        SELECT end_user_id, MIN(date) AS first_core FROM metrics_enduserdailyactivity
        WHERE account_id {SCOPE} AND core_events > 0 AND date <= {cal_end}
        GROUP BY end_user_id
    ),
    facts AS (
        {" UNION ALL ".join(sources)}
    )
    SELECT pkind, pdate, ps, tier, touch_model, business_model, {sums}
    FROM facts
    GROUP BY pkind, pdate, ps, tier, touch_model, business_model
    """


def feature_adoption_sql(d: Dialect, periods: int) -> str:
    """Per feature of the slice's accounts: distinct users per period, and, for a period
    cut short by the feature's release (released after its first day), the distinct users
    active from the release on (the denominator "since release").

    Rows: ('users' | 'active', kind, period start, feature id, count). Only usage on or
    after a feature's release date counts for that feature.
    """
    cal_start, cal_end = d.date("cal_start"), d.date("cal_end")
    return f"""
    WITH RECURSIVE {periods_cte(d, periods)},
    {_calendar_ctes(d)},
    usage AS (
        SELECT e.feature_id, e.date,
            LAG(e.date) OVER (PARTITION BY e.end_user_id, e.feature_id ORDER BY e.date) AS prev
        FROM metrics_enduserfeaturedaily e
        JOIN metrics_feature f ON f.id = e.feature_id
        WHERE e.account_id {SCOPE} AND e.date >= {cal_start} AND e.date <= {cal_end}
          AND (f.release_date IS NULL OR e.date >= f.release_date)
    ),
    cut AS (
        SELECT f.id AS feature_id, f.release_date AS rel, p.pkind, p.ps, p.pe
        FROM metrics_feature f
        JOIN periods p ON p.ps < f.release_date AND f.release_date <= p.pe
    ),
    active AS (
        SELECT date, LAG(date) OVER (PARTITION BY end_user_id, account_id ORDER BY date) AS prev
        FROM metrics_enduserdailyactivity
        WHERE account_id {SCOPE} AND date >= {cal_start} AND date <= {cal_end}
          AND EXISTS (SELECT 1 FROM cut)
    )
    SELECT 'users', p.pkind, p.ps, x.feature_id,
        SUM(CASE WHEN x.prev IS NULL OR x.prev < p.ps THEN 1 ELSE 0 END)
    FROM usage x JOIN cal p ON p.d = x.date
    GROUP BY p.pkind, p.ps, x.feature_id
    UNION ALL
    -- A user is active since the release when an active day in [release, end of period]
    -- is the first on or after the release (the previous one came before it).
    SELECT 'active', c.pkind, c.ps, c.feature_id, COUNT(*)
    FROM active x JOIN cut c
      ON x.date >= c.rel AND x.date <= c.pe AND (x.prev IS NULL OR x.prev < c.rel)
    GROUP BY c.pkind, c.ps, c.feature_id
    """
