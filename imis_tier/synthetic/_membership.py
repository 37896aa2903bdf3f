"""Membership dynamics for one month: joins, reinstatements, renewal choices, payments, lapses,
and the drift of engagement and careers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imis_tier.structure import TierStructure
from imis_tier.synthetic import _choice
from imis_tier.synthetic._calendar import NO_DAY, month_end, month_start
from imis_tier.synthetic._choice import TierMatrix
from imis_tier.synthetic._population import draw
from imis_tier.synthetic._world import TIME_VARYING, Decision, World

I64 = npt.NDArray[np.int64]
_AUTOPAY = 3
_DUES, _PAID, _OPEN, _CANCELLED = 0, 0, 1, 2
_SUCCEEDED, _FAILED = 0, 1
_REINSTATE_WINDOW_DAYS = 730
JOINER_STAGES = (0.24, 0.36, 0.25, 0.1, 0.05)


def _days_in(month: int) -> int:
    return int(month_end(month) - month_start(month)) + 1


def _probabilities(
    world: World, rows: I64, structure: TierStructure, matrix: TierMatrix, month: int
) -> tuple[_choice.ChoiceInputs, npt.NDArray[np.float64], npt.NDArray[np.float64], I64]:
    """Inputs, tier probabilities (n x J), LAPSE probability and prices (n x J) for ``rows``."""
    inputs = world.inputs(rows, month)
    prices = _choice.member_prices(inputs, structure)
    v, lapse = _choice.utilities(inputs, matrix, prices, world.params)
    eligible = _choice.eligibility(inputs, structure)
    p, p_lapse = _choice.nested_probabilities(v, lapse, eligible, world.params.nest_lambda)
    return inputs, p, p_lapse, prices


def _log(
    world: World,
    rows: I64,
    month: int,
    day: npt.NDArray[np.int32],
    kind: int,
    to_tier: npt.NDArray[np.int16],
    price: I64,
    matrix: TierMatrix,
    probabilities: npt.NDArray[np.float64],
    inputs: _choice.ChoiceInputs,
) -> None:
    state = {name: getattr(inputs, name) for name in TIME_VARYING}
    world.decisions.append(
        Decision(
            rows,
            month,
            day,
            kind,
            inputs.tier.copy(),
            to_tier,
            price,
            matrix.codes,
            probabilities,
            state,
        )
    )


def _enter(
    world: World,
    rows: I64,
    tier: npt.NDArray[np.int16],
    price: I64,
    day: npt.NDArray[np.int32],
    month: int,
) -> None:
    """Start (or restart) membership of ``rows`` on ``day``: dues invoice paid the same day."""
    p = world.parties
    p.set(
        rows,
        tier=tier,
        active=True,
        paid_thru_month=month + 11,
        since_day=day,
        last_paid=price,
        updated_day=day,
        lapse_day=int(NO_DAY),
    )
    if not world.emit:
        return
    k = len(rows)
    invoices = world.invoices.append(
        party=rows,
        invoice_day=day,
        due_day=day,
        kind=np.full(k, _DUES, np.int8),
        tier=tier,
        amount=price,
        balance=np.zeros(k, np.int64),
        status=np.full(k, _PAID, np.int8),
        updated_day=day,
    )
    method = p.data["method"][rows]
    world.payments.append(
        invoice=invoices,
        party=rows,
        day=day,
        amount=price,
        method=method,
        status=np.zeros(k, np.int8),
    )
    world.member_types.append(party=rows, day=day, old=np.full(k, -1, np.int16), new=tier)


def _pick_tiers(
    world: World,
    rows: I64,
    structure: TierStructure,
    matrix: TierMatrix,
    month: int,
    rng: np.random.Generator,
) -> tuple[I64, npt.NDArray[np.int16], I64, npt.NDArray[np.float64], _choice.ChoiceInputs]:
    """Tier choice without the LAPSE option (joiners, reinstatements); drops rows with no tier."""
    inputs, p, _, prices = _probabilities(world, rows, structure, matrix, month)
    total = p.sum(axis=1)
    ok = total > 0
    within = p[ok] / total[ok, None]
    pick = _choice.sample(within, rng.random(int(ok.sum())))
    tier = matrix.registry_index[pick]
    price = prices[ok][np.arange(len(pick)), pick]
    probs = np.concatenate([within, np.zeros((len(pick), 1))], axis=1)
    kept = _choice.ChoiceInputs(**{k: v[ok] for k, v in vars(inputs).items()})
    return rows[ok], tier, price, probs, kept


def join(
    world: World, structure: TierStructure, matrix: TierMatrix, month: int, count: int
) -> None:
    """``count`` new contacts join in ``month``, each choosing among the tiers open to them."""
    if count <= 0:
        return
    rng = world.rng(month, 1)
    start = month_start(month)
    columns = draw(count, JOINER_STAGES, 1970 + month // 12, rng, world.params)
    days = (start + rng.integers(0, _days_in(month), count)).astype(np.int32)
    columns["join_day"] = days
    rows = world.add_parties(columns)
    rows, tier, price, probs, inputs = _pick_tiers(world, rows, structure, matrix, month, rng)
    days = world.col("join_day")[rows]
    _enter(world, rows, tier, price, days, month)
    _log(world, rows, month, days, 1, tier, price, matrix, probs, inputs)


def reinstate(world: World, structure: TierStructure, matrix: TierMatrix, month: int) -> None:
    """Lapsed members come back within two years, more often the more engaged they are."""
    rng = world.rng(month, 2)
    d = world.parties.data
    n = world.n
    start = month_start(month)
    lapsed = (
        (~d["active"][:n])
        & (d["lapse_day"][:n] != NO_DAY)
        & (start - d["lapse_day"][:n] < _REINSTATE_WINDOW_DAYS)
    )
    candidates = np.flatnonzero(lapsed)
    hazard = world.params.reinstate_hazard * np.exp(d["engagement"][candidates])
    rows = candidates[rng.random(len(candidates)) < hazard]
    if not len(rows):
        return
    rows, tier, price, probs, inputs = _pick_tiers(world, rows, structure, matrix, month, rng)
    days = (start + rng.integers(0, _days_in(month), len(rows))).astype(np.int32)
    _enter(world, rows, tier, price, days, month)
    _log(world, rows, month, days, 2, tier, price, matrix, probs, inputs)


def renew(world: World, structure: TierStructure, matrix: TierMatrix, month: int) -> None:
    """Members whose paid-thru date falls in ``month`` are billed and decide: a tier or LAPSE.

    The renewal invoice is for the chosen tier (members pick it on the renewal form); a member who
    lapses is billed for the current tier (or the cheapest one open to them) and never pays.
    """
    rng = world.rng(month, 3)
    d = world.parties.data
    n = world.n
    rows = np.flatnonzero(d["active"][:n] & (d["paid_thru_month"][:n] == month) & ~d["pending"][:n])
    if not len(rows):
        return
    k = len(rows)
    inputs, p, p_lapse, prices = _probabilities(world, rows, structure, matrix, month)
    probs = np.concatenate([p, p_lapse[:, None]], axis=1)
    pick = _choice.sample(probs, rng.random(k))
    lapses = pick == len(matrix.codes)
    to_tier = np.where(
        lapses, -1, matrix.registry_index[np.minimum(pick, len(matrix.codes) - 1)]
    ).astype(np.int16)

    eligible = _choice.eligibility(inputs, structure)
    current = inputs.tier[:, None] == matrix.registry_index[None, :]
    billed_pos = np.where(
        (current & eligible).any(axis=1),
        np.argmax(current & eligible, axis=1),
        np.argmin(np.where(eligible, prices, np.iinfo(np.int64).max), axis=1),
    )
    bill_pos = np.where(lapses, billed_pos, np.minimum(pick, len(matrix.codes) - 1))
    amount = prices[np.arange(k), bill_pos]
    paid = np.where(lapses, 0, amount)

    start, due = month_start(month), month_end(month)
    invoice_day = (start + rng.integers(0, 4, k)).astype(np.int32)
    autopay = d["autopay"][rows]
    laxity = d["laxity"][rows]
    grace = world.params.grace_days
    delay = np.exp(rng.normal(2.5 + 0.45 * laxity, 0.7))
    manual_day = invoice_day + np.minimum(delay, due - invoice_day + grace - 5).astype(np.int32)
    auto_day = (due - rng.integers(0, 4, k)).astype(np.int32)
    pay_day = np.where(autopay, auto_day, manual_day).astype(np.int32)
    fails = rng.random(k) < np.where(autopay, 0.07, 0.02)
    fail_day = np.where(fails, pay_day, NO_DAY).astype(np.int32)
    pay_day = np.where(fails, pay_day + rng.integers(3, 12, k), pay_day).astype(np.int32)
    pay_day = np.where(lapses, NO_DAY, pay_day).astype(np.int32)
    fail_day = np.where(lapses, np.where(autopay, due - 2, NO_DAY), fail_day).astype(np.int32)
    lapse_day = np.where(lapses, due + grace, NO_DAY).astype(np.int32)

    invoice_rows = np.full(k, -1, np.int64)
    if world.emit:
        invoice_rows = world.invoices.append(
            party=rows,
            invoice_day=invoice_day,
            due_day=np.full(k, due, np.int32),
            kind=np.full(k, _DUES, np.int8),
            tier=matrix.registry_index[bill_pos],
            amount=amount,
            balance=amount,
            status=np.full(k, _OPEN, np.int8),
            updated_day=invoice_day,
        )
        world.reminders = np.concatenate([world.reminders, rows])
    world.parties.data["pending"][rows] = True
    for name, values in (
        ("pend_invoice", invoice_rows),
        ("pend_tier", to_tier),
        ("pend_price", np.where(lapses, amount, paid)),
        ("pend_pay_day", pay_day),
        ("pend_fail_day", fail_day),
        ("pend_lapse_day", lapse_day),
    ):
        world.parties.data[name][rows] = values
    _log(world, rows, month, np.full(k, due, np.int32), 0, to_tier, paid, matrix, probs, inputs)


def settle(world: World, month: int) -> None:
    """Failed attempts, payments and lapses that fall due in ``month``."""
    d = world.parties.data
    n = world.n
    start, end = month_start(month), month_end(month)

    def due(name: str) -> I64:
        day = d[name][:n]
        return np.flatnonzero((day >= start) & (day <= end))

    failed = due("pend_fail_day")
    if world.emit and len(failed):
        world.payments.append(
            invoice=d["pend_invoice"][failed],
            party=failed,
            day=d["pend_fail_day"][failed],
            amount=d["pend_price"][failed],
            method=d["method"][failed],
            status=np.full(len(failed), _FAILED, np.int8),
        )
    d["pend_fail_day"][failed] = NO_DAY

    paying = due("pend_pay_day")
    day = d["pend_pay_day"][paying]
    new_tier, old_tier = d["pend_tier"][paying], d["tier"][paying]
    if world.emit and len(paying):
        world.payments.append(
            invoice=d["pend_invoice"][paying],
            party=paying,
            day=day,
            amount=d["pend_price"][paying],
            method=d["method"][paying],
            status=np.zeros(len(paying), np.int8),
        )
        world.invoices.set(d["pend_invoice"][paying], balance=0, status=_PAID, updated_day=day)
        switched = new_tier != old_tier
        world.member_types.append(
            party=paying[switched],
            day=day[switched],
            old=old_tier[switched],
            new=new_tier[switched],
        )
    world.parties.set(
        paying,
        tier=new_tier,
        paid_thru_month=d["paid_thru_month"][paying] + 12,
        last_paid=d["pend_price"][paying],
        updated_day=day,
    )
    _clear(world, paying)

    lapsing = due("pend_lapse_day")
    day = d["pend_lapse_day"][lapsing]
    if world.emit and len(lapsing):
        world.invoices.set(d["pend_invoice"][lapsing], status=_CANCELLED, updated_day=day)
        world.member_types.append(
            party=lapsing, day=day, old=d["tier"][lapsing], new=np.full(len(lapsing), -1, np.int16)
        )
    world.parties.set(lapsing, tier=-1, active=False, lapse_day=day, updated_day=day)
    _clear(world, lapsing)


def _clear(world: World, rows: I64) -> None:
    d = world.parties.data
    d["pending"][rows] = False
    d["pend_invoice"][rows] = -1
    d["pend_tier"][rows] = -1
    for name in ("pend_pay_day", "pend_fail_day", "pend_lapse_day"):
        d[name][rows] = NO_DAY


def drift(world: World, month: int) -> None:
    """End of month: engagement moves (AR(1)); some careers advance a stage."""
    rng = world.rng(month, 5)
    params = world.params
    d = world.parties.data
    n = world.n
    active = d["active"][:n]
    # Former members drift towards a lower level: the association matters less to them.
    target = d["mu"][:n] - 0.6 * (~active & (d["lapse_day"][:n] != NO_DAY))
    shock = rng.standard_normal(n).astype(np.float32)
    e = d["engagement"][:n]
    d["engagement"][:n] = (
        params.engagement_rho * e
        + (1 - params.engagement_rho) * target
        + params.engagement_sigma * shock
    )

    rng = world.rng(month, 6)
    stage = d["stage"][:n]
    hazard = np.append(np.asarray(params.stage_hazard), 0.0)[stage]
    moving = np.flatnonzero(rng.random(n) < hazard)
    day = (month_start(month) + rng.integers(0, _days_in(month), len(moving))).astype(np.int32)
    world.parties.set(
        moving, stage=stage[moving] + 1, updated_day=np.maximum(d["updated_day"][moving], day)
    )
