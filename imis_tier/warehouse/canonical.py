"""The canonical model over the raw tables: members, tiers and prices over time, tier spells,
membership events, renewal decisions, transactions, benefit usage and engagement events.

Rebuilt from the raw tables after every sync (it is derived state, so it is always replaced whole,
inside one transaction). Everything downstream (features, models, value, simulation) reads these
tables, never the raw ones and never the API.
"""

from __future__ import annotations

from imis_tier.warehouse._database import Warehouse

# Where a renewal decision's outcome is looked for around a renewal date (days before, after).
DECISION_WINDOW_DAYS = (75, 120)
# A dues invoice this close to a join or reinstatement bills that start, not a renewal.
JOIN_INVOICE_DAYS = 45

_STATEMENTS: tuple[tuple[str, str], ...] = (
    (
        "tiers",
        """
        SELECT code AS tier_code, description, coalesce(is_member, true) AS is_member,
               coalesce(rank, 0) AS rank
        FROM raw_customer_types
        """,
    ),
    (
        "members",
        """
        SELECT p.party_id, p.industry, p.org_size, p.region, p.career_stage, p.birth_year,
               p.join_date, p.customer_type_code AS current_tier, p.paid_thru_date, p.status,
               coalesce(p.autopay, false) AS autopay,
               coalesce(t.is_member, false) AND p.customer_type_code <> 'NM' AS is_member
        FROM raw_parties p LEFT JOIN raw_customer_types t ON t.code = p.customer_type_code
        """,
    ),
    (
        # Each period a member held a member type (tier or NM), from the ChangeLog.
        "tier_spells",
        """
        WITH h AS (
            SELECT party_id, change_date, nullif(original_value, '') AS from_tier, new_value AS tier_code,
                   row_number() OVER (PARTITION BY party_id ORDER BY change_date, new_value) AS nth
            FROM raw_member_type_history
        )
        SELECT h.party_id, h.tier_code, h.from_tier, h.change_date AS start_at,
               lead(h.change_date) OVER (PARTITION BY h.party_id ORDER BY h.change_date, h.tier_code) AS end_at,
               CASE
                   WHEN h.nth = 1 AND h.tier_code <> 'NM' THEN 'join'
                   WHEN h.tier_code = 'NM' THEN 'lapse'
                   WHEN h.from_tier = 'NM' THEN 'reinstate'
                   WHEN coalesce(tn.rank, 0) > coalesce(tf.rank, 0) THEN 'upgrade'
                   WHEN coalesce(tn.rank, 0) < coalesce(tf.rank, 0) THEN 'downgrade'
                   ELSE 'change'
               END AS event
        FROM h
        LEFT JOIN raw_customer_types tn ON tn.code = h.tier_code
        LEFT JOIN raw_customer_types tf ON tf.code = h.from_tier
        """,
    ),
    (
        "dues_transactions",
        """
        SELECT i.invoice_id, i.party_id, i.tier_code, i.invoice_date, i.due_date, i.amount,
               i.balance, i.status,
               p.paid_amount, p.paid_date, p.method, p.failed_payments,
               CASE WHEN p.paid_date IS NOT NULL THEN date_diff('day', i.due_date, p.paid_date) END AS days_late
        FROM raw_invoices i
        LEFT JOIN (
            SELECT invoice_id,
                   sum(amount) FILTER (WHERE coalesce(status, 'Posted') <> 'Failed') AS paid_amount,
                   max(payment_date) FILTER (WHERE coalesce(status, 'Posted') <> 'Failed') AS paid_date,
                   arg_max(method, payment_date) AS method,
                   count(*) FILTER (WHERE status = 'Failed') AS failed_payments
            FROM raw_payments GROUP BY invoice_id
        ) p ON p.invoice_id = i.invoice_id
        WHERE i.kind = 'DUES'
        """,
    ),
    (
        "nondues_transactions",
        """
        SELECT invoice_id, party_id, kind, invoice_date, amount, status
        FROM raw_invoices WHERE kind <> 'DUES' AND coalesce(status, '') <> 'Cancelled'
        """,
    ),
    (
        # The list price of each tier over time: observed billing-item prices, and the undiscounted
        # dues billed each month (the largest dues amount invoiced for the tier that month).
        "tier_prices",
        """
        WITH monthly AS (
            SELECT tier_code, date_trunc('month', invoice_date)::DATE AS month, max(amount) AS price
            FROM raw_invoices WHERE kind = 'DUES' AND tier_code IS NOT NULL
            GROUP BY ALL
            UNION ALL
            SELECT tier_code, date_trunc('month', effective_from)::DATE, price FROM raw_billing_item_history
        ), collapsed AS (
            SELECT tier_code, month, max(price) AS price FROM monthly GROUP BY ALL
        ), changes AS (
            SELECT *, lag(price) OVER (PARTITION BY tier_code ORDER BY month) AS previous FROM collapsed
        ), starts AS (
            SELECT tier_code, month AS effective_from, price FROM changes
            WHERE previous IS NULL OR previous <> price
        )
        SELECT tier_code, effective_from,
               lead(effective_from) OVER (PARTITION BY tier_code ORDER BY effective_from) AS effective_to,
               price
        FROM starts
        """,
    ),
    (
        # The benefit a usage row counts toward: activity types from the benefit catalogue, and
        # attended events by kind (source "EVENT:<KIND>"); extend with imis_tier.features settings.
        "benefit_map",
        """
        SELECT DISTINCT benefit, trim(source) AS source
        FROM (SELECT benefit, unnest(string_split(coalesce(activity_types, ''), ',')) AS source FROM raw_benefits)
        WHERE trim(source) <> ''
        """,
    ),
    (
        "engagement_events",
        """
        SELECT party_id, activity_type AS source, transaction_date AS event_date, coalesce(units, 1) AS units
        FROM raw_activities
        UNION ALL
        SELECT r.party_id, 'EVENT:' || e.kind, coalesce(e.start_date, r.registered_on), 1
        FROM raw_event_registrations r JOIN raw_events e ON e.event_id = r.event_id
        WHERE r.status = 1 AND coalesce(r.attended, false)
        UNION ALL
        SELECT party_id, 'EMAIL_OPEN', sent_on, 1 FROM raw_communications WHERE opened
        UNION ALL
        SELECT party_id, 'EMAIL_CLICK', sent_on, 1 FROM raw_communications WHERE clicked
        UNION ALL
        SELECT party_id, 'GROUP:' || coalesce(group_class, 'COMMITTEE'), effective_date, 1 FROM raw_group_members
        ORDER BY event_date  -- row groups by date, so as-of windows skip most of the table
        """,
    ),
    (
        "benefit_usage",
        """
        SELECT e.party_id, m.benefit, e.event_date AS usage_date, e.units
        FROM engagement_events e JOIN benefit_map m ON m.source = e.source
        ORDER BY usage_date
        """,
    ),
)


def refresh(warehouse: Warehouse) -> list[str]:
    """Rebuild every canonical table from the raw tables, atomically; return their names."""
    names = []
    with warehouse.transaction() as conn:
        for name, select in _STATEMENTS:
            conn.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
            names.append(name)
        conn.execute(f"CREATE OR REPLACE TABLE renewal_decisions AS {_DECISIONS}")
        names.append("renewal_decisions")
    return names


# A renewal decision for every dues renewal point a member reached: the due date of each dues
# invoice that does not bill a join or reinstatement. Outcome: the first member-type change in the
# window around it (lapse, upgrade, downgrade) or, without one, a renewal of the same tier when the
# invoice was paid, a lapse when it was cancelled, and still open (NULL) otherwise.
_DECISIONS = f"""
WITH starts AS (
    SELECT party_id, start_at FROM tier_spells WHERE event IN ('join', 'reinstate')
), renewals AS (
    SELECT d.party_id, d.invoice_id, d.due_date AS decision_date, d.tier_code AS billed_tier,
           d.amount AS price_offered, d.paid_date, d.status
    FROM dues_transactions d
    WHERE NOT EXISTS (
        SELECT 1 FROM starts s
        WHERE s.party_id = d.party_id
          AND s.start_at BETWEEN d.invoice_date - INTERVAL {JOIN_INVOICE_DAYS} DAY
                             AND d.invoice_date + INTERVAL {JOIN_INVOICE_DAYS} DAY
    )
), holding AS (
    SELECT r.*, s.tier_code AS from_tier
    FROM renewals r
    ASOF LEFT JOIN tier_spells s
      ON s.party_id = r.party_id AND s.start_at <= r.decision_date - INTERVAL {DECISION_WINDOW_DAYS[0]} DAY
), changes AS (
    SELECT h.party_id, h.invoice_id, min_by(s.tier_code, s.start_at) AS to_tier, min(s.start_at) AS changed_at
    FROM holding h JOIN tier_spells s
      ON s.party_id = h.party_id
     AND s.start_at > h.decision_date - INTERVAL {DECISION_WINDOW_DAYS[0]} DAY
     AND s.start_at <= h.decision_date + INTERVAL {DECISION_WINDOW_DAYS[1]} DAY
     AND s.tier_code <> h.from_tier
    GROUP BY ALL
), resolved AS (
    SELECT h.*, c.to_tier AS changed_to,
           coalesce(c.to_tier, CASE WHEN h.paid_date IS NOT NULL THEN h.from_tier
                                    WHEN h.status = 'Cancelled' THEN 'NM' END) AS to_tier
    FROM holding h LEFT JOIN changes c ON c.party_id = h.party_id AND c.invoice_id = h.invoice_id
)
SELECT r.party_id, r.invoice_id, r.decision_date, r.from_tier, r.price_offered, r.to_tier,
       CASE
           WHEN r.to_tier IS NULL THEN NULL
           WHEN r.to_tier = 'NM' THEN 'lapse'
           WHEN r.changed_to IS NULL OR r.to_tier = r.from_tier THEN 'renew'
           WHEN coalesce(tt.rank, 0) > coalesce(tf.rank, 0) THEN 'upgrade'
           WHEN coalesce(tt.rank, 0) < coalesce(tf.rank, 0) THEN 'downgrade'
           ELSE 'renew'
       END AS outcome
FROM resolved r
LEFT JOIN raw_customer_types tf ON tf.code = r.from_tier
LEFT JOIN raw_customer_types tt ON tt.code = r.to_tier
WHERE r.from_tier IS NOT NULL AND r.from_tier <> 'NM'
"""
