"""`imis-tier writeback`: show, approve and apply change sets; verify the audit trail.

Every command that writes to iMIS is a dry run unless ``--apply`` is given: the diff goes to
stdout and nothing leaves the machine.
"""

from __future__ import annotations

from typing import Any

import click

from imis_tier.warehouse import Warehouse

from ._common import F, emit_json, err, imis_options, json_option, make_client, warehouse_option

_SCORE_COLUMNS = (
    "party_id", "engagement", "p_renew", "p_upgrade", "p_downgrade", "p_lapse",
    "driver_1", "driver_2", "driver_3", "model_ref", "as_of",
)  # fmt: skip


@click.group()
def writeback() -> None:
    """Change sets into iMIS: dry-run diffs, approved idempotent writes, the audit trail."""


def _latest_scores(warehouse: Warehouse, run_id: str | None) -> tuple[str, Any]:
    """The score rows of ``run_id`` (default: the latest run) from the warehouse ``scores`` table."""
    if "scores" not in warehouse.tables():
        raise click.ClickException(
            f"the warehouse {warehouse.path} has no 'scores' table yet: score members first"
        )
    columns = {
        str(r[0])
        for r in warehouse.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'scores'"
        ).fetchall()
    }
    missing = [
        c for c in ("run_id", *_SCORE_COLUMNS) if c not in columns and not c.startswith("driver_")
    ]
    if missing:
        raise click.ClickException(f"the warehouse 'scores' table lacks column(s) {missing}")
    if run_id is None:
        order = "scored_at DESC, " if "scored_at" in columns else ""
        rows = warehouse.execute(
            f"SELECT run_id FROM scores ORDER BY {order}as_of DESC, run_id DESC LIMIT 1"
        ).fetchall()
        if not rows:
            raise click.ClickException("the warehouse 'scores' table is empty: score members first")
        run_id = str(rows[0][0])
    wanted = ", ".join(c for c in ("run_id", *_SCORE_COLUMNS) if c in columns)
    frame = warehouse.query_df(
        f"SELECT {wanted} FROM scores WHERE run_id = ? ORDER BY party_id", [run_id]
    )
    if frame.empty:
        raise click.ClickException(f"no scores for run {run_id!r} in the warehouse")
    return run_id, frame


def _batch_option(func: F) -> F:
    return click.option(
        "--batch-size", default=50, show_default=True,
        help="Operations per journal commit (a killed run re-reads at most this many).",
    )(func)  # fmt: skip


@writeback.command("scores")
@imis_options
@warehouse_option
@_batch_option
@click.option("--run-id", default=None, help="Scores of this run (default: the latest).")
@click.option(
    "--source", default="Member_Tier_Score", show_default=True, help="iMIS source to write."
)
@click.option(
    "--apply", "do_apply", is_flag=True, help="Write to iMIS (default: dry run, show the diff)."
)
@click.option(
    "--approved-by",
    default=None,
    help="Who approved the diff (default: IMIS_TIER_ACTOR or OS user).",
)
@click.option(
    "--limit", default=50, show_default=True, help="Changed rows listed in the diff (0 = all)."
)
@json_option
def scores_command(
    base_url: str | None,
    username: str | None,
    password: str | None,
    warehouse_path: str,
    run_id: str | None,
    source: str,
    do_apply: bool,
    approved_by: str | None,
    limit: int,
    batch_size: int,
    as_json: bool,
) -> None:
    """Write the latest member scores into iMIS (one row per member, idempotent upsert)."""
    from imis_tier.writeback import write_scores

    with Warehouse(warehouse_path) as warehouse:
        run, frame = _latest_scores(warehouse, run_id)
        with make_client(base_url, username, password) as client:
            progress = None if as_json else _progress
            outcome = write_scores(
                frame, client, warehouse, source=source, apply=False, context={"run_id": run}
            )
            change_set = outcome.change_set
            result = None
            if do_apply:
                from imis_tier.writeback import apply
                from imis_tier.writeback.audit import default_actor

                result = apply(
                    change_set, client, warehouse, approved_by=approved_by or default_actor(),
                    on_progress=progress, batch_size=batch_size,
                )  # fmt: skip
    if as_json:
        payload: dict[str, Any] = {
            "run_id": run,
            "change_set": change_set.to_dict(),
            "applied": result is not None,
        }
        if result is not None:
            payload["result"] = {**result.counts(), "audit_seq": result.audit_seq}
        emit_json(payload)
        return
    click.echo(change_set.diff(limit=limit or None))
    if result is None:
        err(
            f"dry run: nothing written. Apply with: imis-tier writeback scores --apply --run-id {run}"
        )
    else:
        counts = ", ".join(f"{k} {v}" for k, v in result.counts().items() if v)
        err(
            f"applied change set {change_set.hash[:12]}: {counts or 'nothing to do'}; audit record {result.audit_seq}"
        )


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        err(f"  {done}/{total} operations")


@writeback.command("show")
@warehouse_option
@click.argument("change_set_id", required=False)
@click.option("--limit", default=50, show_default=True, help="Rows listed (0 = all).")
@json_option
def show_command(warehouse_path: str, change_set_id: str | None, limit: int, as_json: bool) -> None:
    """List recent change sets, or show one (its diff and journal) by hash prefix."""
    from imis_tier.writeback import journal_entries, load_change_set, staged_change_sets

    with Warehouse(warehouse_path) as warehouse:
        if change_set_id is None:
            staged = staged_change_sets(warehouse, limit=limit or 1000)
            if as_json:
                emit_json([s.__dict__ for s in staged])
                return
            for s in staged:
                c = s.counts
                click.echo(
                    f"{s.change_set_hash[:12]}  {s.computed_at:%Y-%m-%d %H:%M}Z  {s.status:<8}  {s.target:<20}"
                    f"  +{c['create']} ~{c['update']} -{c['delete']} ={c['noop']}"
                    + (f"  by {s.approved_by}" if s.approved_by else "")
                )
            return
        try:
            change_set = load_change_set(warehouse, change_set_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        entries = journal_entries(warehouse, change_set.hash)
    statuses: dict[str, int] = {}
    for entry in entries.values():
        statuses[entry.status] = statuses.get(entry.status, 0) + 1
    if as_json:
        emit_json({"change_set": change_set.to_dict(), "journal": statuses})
        return
    click.echo(change_set.diff(limit=limit or None))
    if statuses:
        click.echo("journal: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))


@writeback.command("resume")
@imis_options
@warehouse_option
@_batch_option
@click.argument("change_set_id")
@click.option(
    "--apply", "do_apply", is_flag=True, help="Finish applying it (default: show what is left)."
)
@click.option(
    "--approved-by", default=None, help="Who approved it (default: IMIS_TIER_ACTOR or OS user)."
)
def resume_command(
    base_url: str | None,
    username: str | None,
    password: str | None,
    warehouse_path: str,
    change_set_id: str,
    do_apply: bool,
    approved_by: str | None,
    batch_size: int,
) -> None:
    """Finish a change set an interrupted run left behind (done operations are skipped)."""
    from imis_tier.writeback import apply, journal_entries, load_change_set
    from imis_tier.writeback.audit import default_actor

    with Warehouse(warehouse_path) as warehouse:
        try:
            change_set = load_change_set(warehouse, change_set_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        left = sum(
            1 for e in journal_entries(warehouse, change_set.hash).values() if e.status != "done"
        )
        if not do_apply:
            click.echo(f"{change_set.summary()}\n{left} operation(s) not done yet")
            err("dry run: nothing written. Finish with --apply")
            return
        with make_client(base_url, username, password) as client:
            result = apply(
                change_set, client, warehouse, approved_by=approved_by or default_actor()
            )
    counts = ", ".join(f"{k} {v}" for k, v in result.counts().items() if v)
    err(
        f"applied change set {change_set.hash[:12]}: {counts or 'nothing to do'}; audit record {result.audit_seq}"
    )


@writeback.group("audit")
def audit() -> None:
    """The hash-chained audit trail of write-backs."""


@audit.command("verify")
@warehouse_option
@json_option
def audit_verify(warehouse_path: str, as_json: bool) -> None:
    """Recompute the audit chain; exit 1 if any record was altered, removed or reordered."""
    from imis_tier.writeback import verify_audit_chain

    with Warehouse(warehouse_path) as warehouse:
        outcome = verify_audit_chain(warehouse)
    if as_json:
        emit_json(outcome.__dict__)
    elif outcome.ok:
        click.echo(f"audit chain intact: {outcome.records} record(s)")
    else:
        click.echo(f"audit chain BROKEN at record {outcome.broken_at}: {outcome.problem}")
    if not outcome.ok:
        click.get_current_context().exit(1)


@audit.command("list")
@warehouse_option
@click.option("--limit", default=20, show_default=True, help="Most recent records shown.")
@json_option
def audit_list(warehouse_path: str, limit: int, as_json: bool) -> None:
    """Show the most recent audit records."""
    from imis_tier.writeback import audit_records

    with Warehouse(warehouse_path) as warehouse:
        records = audit_records(warehouse)[-limit:]
    if as_json:
        emit_json([r.__dict__ for r in records])
        return
    for r in records:
        counts = " ".join(f"{k}={v}" for k, v in r.outputs.items() if isinstance(v, int) and v)
        click.echo(
            f"{r.seq:>5}  {r.recorded_at:%Y-%m-%d %H:%M:%S}Z  {r.action:<12} {r.target or '':<20}"
            f" {(r.change_set_hash or '')[:12]}  by {r.actor}  {counts}"
        )
