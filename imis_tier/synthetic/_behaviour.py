"""Observable behaviour for one month: activities, events and registrations, purchases and gifts,
emails, committees and certifications. Rates follow each contact's latent engagement, and having a
benefit raises its use."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imis_tier.synthetic._calendar import NO_DAY, month_end, month_start
from imis_tier.synthetic._choice import TierMatrix
from imis_tier.synthetic._world import World
from imis_tier.synthetic.catalog import ACTIVITY_TYPES, BENEFIT_CODES, REGIONS

I64 = npt.NDArray[np.int64]
F = npt.NDArray[np.float64]

EVENT_KINDS: tuple[str, ...] = ("CONFERENCE", "WEBINAR", "WORKSHOP", "CHAPTER")
CHANNELS: tuple[str, ...] = ("Email", "SMS")
SUBJECTS: tuple[str, ...] = (
    "Monthly update",
    "Your renewal is due",
    "We miss you",
    "Conference registration open",
)
GROUPS: tuple[tuple[str, str, str], ...] = tuple(
    [
        (f"COM{i:02d}", f"{name} Committee", "COMMITTEE")
        for i, name in enumerate(
            [
                "Awards",
                "Bylaws",
                "Education",
                "Ethics",
                "Finance",
                "Governance",
                "Membership",
                "Nominating",
                "Policy",
                "Programs",
                "Publications",
                "Research",
            ],
            1,
        )
    ]
    + [
        (f"VOL{i:02d}", f"{name} Volunteers", "VOLUNTEER")
        for i, name in enumerate(
            [
                "Ambassador",
                "Chapter",
                "Conference",
                "Mentor",
                "Outreach",
                "Student",
                "Webinar",
                "Welcome",
            ],
            1,
        )
    ]
)
ROLES: tuple[str, ...] = ("Member", "Vice Chair", "Chair")
PROGRAMS: tuple[str, ...] = ("CMP", "CMP-ADV")
CERT_STATUS: tuple[str, ...] = ("InProgress", "Completed", "Lapsed")
ACTIVITY_DESCRIPTIONS: tuple[str, ...] = (
    "Member portal login",
    "Research library download",
    "Webinar viewed",
    "Community post",
    "Certification credits",
    "Volunteer hours",
    "Mentoring session",
    "Donation",
)

_B = {code: i for i, code in enumerate(BENEFIT_CODES)}
_T = {code: i for i, code in enumerate(ACTIVITY_TYPES)}
_CONFERENCE_MONTH = 4  # May
_INVOICE = {"EVENT": 1, "COURSE": 2, "PRODUCT": 3, "DONATION": 4, "SPONSORSHIP": 5}
_OPEN_WINDOW_DAYS = 730
# Monthly base rates at engagement 0 for a member who has the benefit, and the share of that use
# without it (activity type, benefit or None, base, share without).
_ACTIVITY_RATES: tuple[tuple[str, str | None, float, float], ...] = (
    ("DOWNLOAD", "research_library", 0.42, 0.2),
    ("WEBINAR", "webinars", 0.26, 0.15),
    ("COMMUNITY_POST", "community", 0.2, 0.1),
    ("MENTORING", "mentoring", 0.12, 0.05),
)


def has_benefit(world: World, matrix: TierMatrix, rows: I64) -> npt.NDArray[np.bool_]:
    """``len(rows) x len(BENEFITS)``: the benefits of each contact's current tier."""
    table = np.zeros((len(world.registry) + 1, len(BENEFIT_CODES)), dtype=bool)
    table[matrix.registry_index] = matrix.benefits > 0
    return table[world.col("tier")[rows]]  # -1 (no tier) hits the all-False last row


def month_behaviour(world: World, matrix: TierMatrix, month: int) -> None:
    """Generate every behavioural row of ``month`` (only when the world emits tables)."""
    d = world.parties.data
    n = world.n
    active = np.flatnonzero(d["active"][:n])
    benefits = has_benefit(world, matrix, active)
    boost = np.exp(d["engagement"][active].astype(np.float64))
    _activities(world, month, active, benefits, boost)
    _events(world, month, active, benefits, boost)
    _purchases(world, month, active, benefits, boost)
    _communications(world, month)
    _groups(world, month, active, boost)
    _certifications(world, month, active, benefits, boost)


def _days(rng: np.random.Generator, month: int, k: int) -> npt.NDArray[np.int32]:
    start, end = month_start(month), month_end(month)
    return (start + rng.integers(0, int(end - start) + 1, k)).astype(np.int32)


def _activities(
    world: World, month: int, active: I64, benefits: npt.NDArray[np.bool_], boost: F
) -> None:
    rng = world.rng(month, 7)
    d = world.parties.data
    n = world.n
    use = d["use"][active]
    in_group = d["group_row"][active] >= 0
    in_cert = (d["cert_row"][active] >= 0) & (d["cert_deadline"][active] >= month)
    rates: dict[str, F] = {"PORTAL_LOGIN": 1.25 * d["login"][active] * boost}
    for kind, benefit, base, without in _ACTIVITY_RATES:
        b = _B[str(benefit)]
        rates[kind] = base * use[:, b] * boost * np.where(benefits[:, b], 1.0, without)
    cert = _B["certification_discount"]
    rates["CERT_PROGRESS"] = (
        in_cert * 0.9 * use[:, cert] * boost * np.where(benefits[:, cert], 1.3, 1.0)
    )
    rates["VOLUNTEER"] = 0.02 * d["volunteer"][active] * boost * np.where(in_group, 12.0, 1.0)
    # Recently lapsed contacts still log in now and then.
    lapsed = np.flatnonzero(
        ~d["active"][:n]
        & (d["lapse_day"][:n] != NO_DAY)
        & (month_start(month) - d["lapse_day"][:n] < _OPEN_WINDOW_DAYS)
    )
    parties: list[npt.NDArray[np.int32]] = []
    types: list[npt.NDArray[np.int8]] = []
    for kind, rate in rates.items():
        who = active
        if kind == "PORTAL_LOGIN":
            who = np.concatenate([active, lapsed])
            rate = np.concatenate(
                [rate, 0.12 * d["login"][lapsed] * np.exp(d["engagement"][lapsed])]
            )
        counts = rng.poisson(rate)
        rows = np.repeat(who.astype(np.int32), counts)
        parties.append(rows)
        types.append(np.full(len(rows), _T[kind], np.int8))
    party = np.concatenate(parties)
    kind_codes = np.concatenate(types)
    units = np.ones(len(party), np.int16)
    credits = kind_codes == _T["CERT_PROGRESS"]
    units[credits] = 1 + rng.poisson(1.5, int(credits.sum()))
    hours = kind_codes == _T["VOLUNTEER"]
    units[hours] = 1 + rng.poisson(2.0, int(hours.sum()))
    day = _days(rng, month, len(party))
    world.activities.append(party=party, type=kind_codes, day=day, units=units)
    _progress_certifications(world, party[credits], units[credits], day[credits])


def _event_rows(month: int) -> list[tuple[str, str, int, int, int, int]]:
    """This month's events: (id, name, kind, day of month, price cents, region or -1)."""
    year, cm = 1970 + month // 12, month % 12 + 1
    tag = f"{year % 100:02d}{cm:02d}"
    events = [
        (f"WEB{tag}A", f"Webinar {year}-{cm:02d} A", 1, 8, 4900, -1),
        (f"WEB{tag}B", f"Webinar {year}-{cm:02d} B", 1, 22, 4900, -1),
        (f"WKS{tag}", f"Skills workshop {year}-{cm:02d}", 2, 17, 19500, -1),
    ]
    if month % 12 == _CONFERENCE_MONTH:
        events.insert(0, (f"CONF{year}", f"Annual Conference {year}", 0, 14, 69500, -1))
    for r, region in enumerate(REGIONS):
        if region != "international":
            events.append(
                (
                    f"CH{tag}R{r:02d}",  # one id per region: "SOU" named two regions
                    f"{region.title()} chapter meeting {year}-{cm:02d}",
                    3,
                    25,
                    0,
                    r,
                )
            )
    return events


def _events(
    world: World, month: int, active: I64, benefits: npt.NDArray[np.bool_], boost: F
) -> None:
    rng = world.rng(month, 8)
    d = world.parties.data
    start = int(month_start(month))
    use = d["use"][active]
    region = d["region"][active]
    conf, web = _B["conference_discount"], _B["webinars"]
    events = _event_rows(month)
    world.events.append(
        event_id=np.array([e[0] for e in events], dtype=object),
        name=np.array([e[1] for e in events], dtype=object),
        kind=np.array([e[2] for e in events], np.int8),
        day=np.full(len(events), start, np.int32),
        price=np.array([e[4] for e in events], np.int64),
    )
    for event_id, _, kind, dom, price, reg in events:
        if kind == 0:
            p = 0.05 * use[:, conf] * boost * np.where(benefits[:, conf], 2.5, 1.0)
            fee = np.where(benefits[:, conf], price * 7 // 10, price)
        elif kind == 1:
            p = 0.025 * use[:, web] * boost * np.where(benefits[:, web], 2.5, 0.6)
            fee = np.where(benefits[:, web], 0, price)
        elif kind == 2:
            p = 0.008 * boost
            fee = np.full(len(active), price)
        else:
            p = 0.02 * boost * (region == reg)
            fee = np.zeros(len(active), np.int64)
        hit = np.flatnonzero(rng.random(len(active)) < np.minimum(p, 0.9))
        if not len(hit):
            continue
        k = len(hit)
        event_day = start + dom - 1
        day = (event_day - rng.integers(0, dom, k)).astype(np.int32)
        cancelled = rng.random(k) < 0.05
        attended = ~cancelled & (rng.random(k) < 0.85)
        world.registrations.append(
            event_id=np.full(k, event_id, dtype=object),
            party=active[hit],
            day=day,
            status=np.where(cancelled, 0, 1).astype(np.int8),
            attended=attended,
        )
        charged = ~cancelled & (fee[hit] > 0)
        _paid_invoices(
            world,
            active[hit][charged],
            "EVENT",
            fee[hit][charged].astype(np.int64),
            day[charged],
            month,
            rng,
        )


def _paid_invoices(
    world: World,
    rows: I64,
    kind: str,
    amount: I64,
    day: npt.NDArray[np.int32],
    month: int,
    rng: np.random.Generator,
) -> None:
    """Non-dues invoices paid within a few days (never past the month's end)."""
    k = len(rows)
    if not k:
        return
    pay_day = np.minimum(day + rng.integers(0, 5, k), month_end(month)).astype(np.int32)
    invoices = world.invoices.append(
        party=rows,
        invoice_day=day,
        due_day=day + 30,
        kind=np.full(k, _INVOICE[kind], np.int8),
        tier=np.full(k, -1, np.int16),
        amount=amount,
        balance=np.zeros(k, np.int64),
        status=np.zeros(k, np.int8),
        updated_day=pay_day,
    )
    method = world.col("method")[rows]
    method = np.where(method == 3, 0, method).astype(np.int8)  # autopay covers dues only
    world.payments.append(
        invoice=invoices,
        party=rows,
        day=pay_day,
        amount=amount,
        method=method,
        status=np.zeros(k, np.int8),
    )


def _purchases(
    world: World, month: int, active: I64, benefits: npt.NDArray[np.bool_], boost: F
) -> None:
    rng = world.rng(month, 9)
    d = world.parties.data
    cert = _B["certification_discount"]
    n = len(active)
    course = np.flatnonzero(rng.random(n) < 0.003 * d["use"][active, cert] * boost)
    price = np.where(benefits[course, cert], 23600, 29500).astype(np.int64)
    _paid_invoices(
        world, active[course], "COURSE", price, _days(rng, month, len(course)), month, rng
    )
    product = np.flatnonzero(rng.random(n) < 0.006 * boost)
    price = rng.choice(np.array([2500, 4500, 7900, 12000], np.int64), len(product))
    _paid_invoices(
        world, active[product], "PRODUCT", price, _days(rng, month, len(product)), month, rng
    )
    december = 4.0 if month % 12 == 11 else 1.0
    donors = np.flatnonzero(rng.random(n) < 0.0025 * boost * december)
    dollars = np.clip(np.round(np.exp(rng.normal(4.2, 0.8, len(donors)))), 5, 20000).astype(
        np.int64
    )
    day = _days(rng, month, len(donors))
    _paid_invoices(world, active[donors], "DONATION", dollars * 100, day, month, rng)
    world.activities.append(
        party=active[donors],
        type=np.full(len(donors), _T["GIFT"], np.int8),
        day=day,
        units=dollars.astype(np.int16),
    )
    large = d["org_size"][active] == 3
    sponsors = np.flatnonzero(large & (rng.random(n) < 0.0004 * boost))
    price = rng.choice(np.array([250000, 500000, 1000000], np.int64), len(sponsors))
    _paid_invoices(
        world, active[sponsors], "SPONSORSHIP", price, _days(rng, month, len(sponsors)), month, rng
    )


def _communications(world: World, month: int) -> None:
    rng = world.rng(month, 10)
    d = world.parties.data
    n = world.n
    start = month_start(month)
    reachable = d["active"][:n] | (
        (d["lapse_day"][:n] != NO_DAY) & (start - d["lapse_day"][:n] < _OPEN_WINDOW_DAYS)
    )
    newsletter = np.flatnonzero(reachable & (rng.random(n) < 0.25))
    lapsed_now = np.flatnonzero(
        ~d["active"][:n] & (d["lapse_day"][:n] >= start) & (d["lapse_day"][:n] <= month_end(month))
    )
    subject_of = (
        (newsletter, 3 if month % 12 in (_CONFERENCE_MONTH - 2, _CONFERENCE_MONTH - 1) else 0),
        (world.reminders, 1),
        (lapsed_now, 2),
    )
    for rows, subject in subject_of:
        k = len(rows)
        if not k:
            continue
        e = d["engagement"][rows].astype(np.float64)
        opened = rng.random(k) < 1 / (1 + np.exp(-(-0.6 + 1.1 * e + 0.4 * d["active"][rows])))
        clicked = opened & (rng.random(k) < 1 / (1 + np.exp(-(-1.6 + 0.9 * e))))
        sms = rng.random(k) < 0.05
        day = _days(rng, month, k)
        if subject == 2:
            day = np.maximum(day, d["lapse_day"][rows])
        world.communications.append(
            party=rows,
            day=day,
            channel=sms.astype(np.int8),
            subject=np.full(k, subject, np.int8),
            opened=opened,
            clicked=clicked,
        )
    world.reminders = np.empty(0, np.int64)


def _groups(world: World, month: int, active: I64, boost: F) -> None:
    rng = world.rng(month, 11)
    d = world.parties.data
    n = world.n
    member = d["group_row"][:n] >= 0
    leaving = np.flatnonzero(member & ((d["group_end_month"][:n] <= month) | ~d["active"][:n]))
    if len(leaving):
        day = _days(rng, month, len(leaving))
        day = np.maximum(day, world.groups.data["start_day"][d["group_row"][leaving]])
        world.groups.set(d["group_row"][leaving], end_day=day, updated_day=day)
        d["group_row"][leaving] = -1
    free = active[d["group_row"][active] < 0]
    b = boost[d["group_row"][active] < 0]
    joining = free[rng.random(len(free)) < 0.0015 * d["volunteer"][free] * b**1.5]
    k = len(joining)
    if not k:
        return
    day = _days(rng, month, k)
    role = rng.choice(3, k, p=[0.86, 0.08, 0.06]).astype(np.int8)
    rows = world.groups.append(
        group=rng.integers(0, len(GROUPS), k).astype(np.int8),
        party=joining,
        role=role,
        start_day=day,
        end_day=np.full(k, NO_DAY, np.int32),
        updated_day=day,
    )
    d["group_row"][joining] = rows
    d["group_end_month"][joining] = month + 1 + rng.geometric(1 / 18, k)


def _certifications(
    world: World, month: int, active: I64, benefits: npt.NDArray[np.bool_], boost: F
) -> None:
    rng = world.rng(month, 12)
    d = world.parties.data
    n = world.n
    enrolled = d["cert_row"][:n] >= 0
    expired = np.flatnonzero(enrolled & ((d["cert_deadline"][:n] < month) | ~d["active"][:n]))
    if len(expired):
        day = _days(rng, month, len(expired))
        world.certs.set(d["cert_row"][expired], status=2, updated_day=day)
        d["cert_row"][expired] = -1
    cert = _B["certification_discount"]
    stage_pull = np.array([0.5, 1.5, 1.2, 0.5, 0.2])[d["stage"][active]]
    free = (d["cert_row"][active] < 0) & (d["cert_done"][active] < 2)
    p = 0.002 * d["use"][active, cert] * boost * stage_pull * np.where(benefits[:, cert], 2.0, 1.0)
    joining = active[free & (rng.random(len(active)) < p)]
    k = len(joining)
    if not k:
        return
    day = _days(rng, month, k)
    rows = world.certs.append(
        party=joining,
        program=np.minimum(d["cert_done"][joining], 1).astype(np.int8),
        registered_day=day,
        status=np.zeros(k, np.int8),
        progress=np.zeros(k, np.float32),
        completed_day=np.full(k, NO_DAY, np.int32),
        updated_day=day,
    )
    d["cert_row"][joining] = rows
    d["cert_progress"][joining] = 0.0
    d["cert_deadline"][joining] = month + 24


def _progress_certifications(
    world: World, party: I64, units: npt.NDArray[np.int16], day: npt.NDArray[np.int32]
) -> None:
    """CERT_PROGRESS credits move the member's program on; 100% completes it."""
    if not len(party):
        return
    d = world.parties.data
    order = np.lexsort((day, party))
    party, units, day = party[order], units[order], day[order]
    who, first = np.unique(party, return_index=True)
    gained = np.add.reduceat(units.astype(np.float32) * 7.0, first)
    last_day = np.maximum.reduceat(day, first)
    progress = np.minimum(d["cert_progress"][who] + gained, 100.0)
    d["cert_progress"][who] = progress
    rows = d["cert_row"][who]
    done = progress >= 100.0
    world.certs.set(
        rows,
        progress=progress,
        updated_day=np.maximum(world.certs.data["updated_day"][rows], last_day),
    )
    world.certs.set(rows[done], status=1, completed_day=last_day[done])
    d["cert_done"][who[done]] += 1
    d["cert_row"][who[done]] = -1
