"""Benchmark ``build_panel`` on a large warehouse (issue target: 1,000,000 members, < 30 s, < 4 GB).

Two processes, so the figure is the panel's own memory, not the generator's:

    .venv/bin/python benchmarks/bench_panel.py --members 1000000            # build + measure
    .venv/bin/python benchmarks/bench_panel.py --members 1000000 --reuse    # measure an existing file

Step 1 generates the synthetic association and bulk-loads its observable tables straight into
the raw tables with SQL (the same mapping as the extraction queries, without HTTP or CSV, which
would take far longer than what is measured), then refreshes the canonical tables. Step 2 opens
the file in a fresh process and times ``build_panel`` at one as-of date. Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

_LOADS = {
    "raw_customer_types": ("tiers", "SELECT code, description, is_member, rank FROM src"),
    "raw_tier_benefits": ("tier_benefits", "SELECT tier_code, benefit, effective_from::DATE, effective_to::DATE FROM src"),
    "raw_parties": ("parties", """SELECT party_id::VARCHAR, first_name, last_name, email, organization_name,
        industry::VARCHAR, org_size::VARCHAR, region::VARCHAR, career_stage::VARCHAR, birth_year,
        join_date::DATE, customer_type_code::VARCHAR, paid_thru_date::DATE, status::VARCHAR, autopay, updated_on FROM src"""),
    "raw_member_type_history": ("member_type_history", """SELECT DISTINCT ON (party_id, change_date, new_value)
        party_id::VARCHAR, change_date, original_value::VARCHAR, new_value::VARCHAR FROM src"""),
    "raw_invoices": ("invoices", """SELECT invoice_id::VARCHAR, party_id::VARCHAR, invoice_date::DATE, due_date::DATE,
        kind::VARCHAR, tier_code::VARCHAR, amount_cents / 100.0, balance_cents / 100.0, status::VARCHAR, updated_on FROM src"""),
    "raw_payments": ("payments", """SELECT payment_id::VARCHAR, invoice_id::VARCHAR, party_id::VARCHAR, payment_date::DATE,
        amount_cents / 100.0, method::VARCHAR, status::VARCHAR, updated_on FROM src"""),
    "raw_events": ("events", "SELECT event_id, name, kind::VARCHAR, start_date::DATE, price_cents / 100.0, updated_on FROM src"),
    "raw_event_registrations": ("event_registrations", """SELECT event_id || '-' || party_id::VARCHAR, event_id,
        party_id::VARCHAR, registered_on::DATE, status, attended, updated_on FROM src"""),
    "raw_activities": ("activities", """SELECT seqn, party_id::VARCHAR, activity_type::VARCHAR, transaction_date::DATE,
        units, description::VARCHAR, updated_on FROM src"""),
    "raw_communications": ("communications", """SELECT log_id::VARCHAR, party_id::VARCHAR, sent_on::DATE, channel::VARCHAR,
        subject::VARCHAR, opened, clicked, updated_on FROM src"""),
    "raw_group_members": ("group_members", """SELECT group_id, party_id::VARCHAR, effective_date::DATE, group_name,
        group_class::VARCHAR, role::VARCHAR, end_date::DATE, updated_on FROM src"""),
    "raw_certifications": ("certifications", """SELECT registration_id::VARCHAR, party_id::VARCHAR, program_code::VARCHAR,
        registered_on::DATE, status::VARCHAR, progress_pct, completed_on::DATE, updated_on FROM src"""),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, members: int, seed: int) -> dict[str, object]:
    from imis_tier.synthetic import generate_association
    from imis_tier.synthetic.iqa_exports import iqa_exports
    from imis_tier.warehouse import Warehouse, canonical

    started = time.perf_counter()
    assoc = generate_association(members=members, seed=seed)
    generated = time.perf_counter() - started
    small = iqa_exports(type(assoc.tables)(**{n: (f if n in ("prices", "benefits") else f.iloc[:0]) for n, f in assoc.tables.items()}), assoc.clock)
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    with Warehouse(path) as warehouse:
        conn = warehouse.connection
        for table, (source, select) in _LOADS.items():
            frame = getattr(assoc.tables, source)
            conn.register("src", frame)
            conn.execute(f"INSERT INTO {table} {select}")
            conn.unregister("src")
            setattr(assoc.tables, source, frame.iloc[:0])
            del frame
            gc.collect()
        conn.register("src", small["BillingItems"])
        conn.execute("INSERT INTO raw_billing_items SELECT ItemCode, TierCode, Price, BillingCycle, UpdatedOn FROM src")
        conn.register("src2", small["Benefits"])
        conn.execute("INSERT INTO raw_benefits SELECT Benefit, Name, ActivityTypes, CostToServe FROM src2")
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        canonical.refresh(warehouse)
        refreshed = time.perf_counter() - started
        rows = warehouse.fetchone("SELECT count(*) FROM raw_activities")
    return {"generate_s": round(generated, 1), "load_s": round(loaded, 1), "canonical_refresh_s": round(refreshed, 1),
            "activity_rows": rows[0] if rows else 0, "build_peak_rss_mb": round(_peak_mb())}


def measure(path: Path, as_of: str) -> dict[str, object]:
    from imis_tier.features import build_panel
    from imis_tier.warehouse import Warehouse

    with Warehouse(path) as warehouse:
        started = time.perf_counter()
        panel = build_panel(warehouse, as_of)
        seconds = time.perf_counter() - started
    return {"as_of": as_of, "panel_rows": len(panel), "panel_columns": panel.shape[1],
            "build_panel_s": round(seconds, 2), "panel_peak_rss_mb": round(_peak_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", default="2026-06-01")
    parser.add_argument("--path", default="benchmarks/out/panel.duckdb")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--step", choices=["build", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = Path(args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.step == "build":
        json.dump(build(path, args.members, args.seed), sys.stdout)
        return
    if args.step == "measure":
        json.dump(measure(path, args.as_of), sys.stdout)
        return
    result: dict[str, object] = {"members": args.members}
    base = [sys.executable, __file__, "--members", str(args.members), "--seed", str(args.seed), "--path", str(path), "--as-of", args.as_of]
    if not args.reuse:
        result.update(json.loads(subprocess.run([*base, "--step", "build"], check=True, capture_output=True, text=True).stdout))
    result.update(json.loads(subprocess.run([*base, "--step", "measure"], check=True, capture_output=True, text=True).stdout))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
