"""The synthetic association's fixed catalogue: tiers, benefits, segments and its known history.

Everything here is observable configuration (what an iMIS site would hold as member types,
billing items and a tier-to-benefit map). Behavioural parameters live in
:mod:`imis_tier.synthetic.params`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from imis_tier.structure import Eligibility, Tier, TierStructure

NON_MEMBER = "NM"
"""The iMIS customer type of a contact who is not (or no longer) a member."""

PRICE_CHANGE_DATE = date(2025, 1, 1)
PRICE_CHANGE_TIER = "STD"
PRICE_CHANGE_OLD = Decimal("325.00")
PRICE_CHANGE_NEW = Decimal("345.00")

BENEFIT_MOVE_DATE = date(2025, 7, 1)
BENEFIT_MOVE_BENEFIT = "webinars"
BENEFIT_MOVE_FROM = "STD"
BENEFIT_MOVE_TO = "PREM"

CATALOGUE_START = date(2015, 1, 1)
"""When the initial prices and benefit map took effect (before any generated history)."""

CAREER_STAGES: tuple[str, ...] = ("student", "early", "mid", "senior", "executive")
INDUSTRIES: tuple[str, ...] = (
    "healthcare",
    "technology",
    "finance",
    "government",
    "education",
    "manufacturing",
    "nonprofit",
    "consulting",
)
ORG_SIZES: tuple[str, ...] = ("1-10", "11-50", "51-500", "501+")
REGIONS: tuple[str, ...] = (
    "northeast",
    "southeast",
    "midwest",
    "southwest",
    "west",
    "international",
)

ACTIVITY_TYPES: tuple[str, ...] = (
    "PORTAL_LOGIN",
    "DOWNLOAD",
    "WEBINAR",
    "COMMUNITY_POST",
    "CERT_PROGRESS",
    "VOLUNTEER",
    "MENTORING",
    "GIFT",
)


@dataclass(frozen=True)
class BenefitSpec:
    """One benefit: what counts as using it, what it costs to serve, and how members value it.

    ``value`` is the mean utility (in the truth's units) of the benefit at full use;
    ``stage_value`` multiplies it by career stage (order of :data:`CAREER_STAGES`);
    ``saturation`` is the use intensity at which ~63% of the value is reached.
    """

    code: str
    name: str
    activity_types: str
    cost_to_serve_cents: int
    value: float
    stage_value: tuple[float, float, float, float, float]
    saturation: float


BENEFITS: tuple[BenefitSpec, ...] = (
    BenefitSpec("journal", "Journal subscription", "", 4000, 0.45, (0.6, 0.8, 1.0, 1.0, 1.0), 0.6),
    BenefitSpec(
        "community",
        "Online community",
        "COMMUNITY_POST",
        1500,
        0.35,
        (1.2, 1.1, 1.0, 0.9, 0.8),
        0.8,
    ),
    BenefitSpec(
        "research_library",
        "Research library",
        "DOWNLOAD",
        3500,
        0.85,
        (0.8, 1.0, 1.1, 1.0, 0.8),
        0.9,
    ),
    BenefitSpec(
        "webinars", "Webinar library", "WEBINAR", 2500, 0.75, (1.0, 1.2, 1.0, 0.8, 0.6), 0.8
    ),
    BenefitSpec(
        "conference_discount",
        "Conference discount",
        "EVENT:CONFERENCE",
        6000,
        0.65,
        (0.5, 0.8, 1.0, 1.2, 1.2),
        1.0,
    ),
    BenefitSpec(
        "certification_discount",
        "Certification discount",
        "CERT_PROGRESS",
        3000,
        0.85,
        (0.6, 1.4, 1.1, 0.6, 0.3),
        0.9,
    ),
    BenefitSpec(
        "mentoring", "Mentoring program", "MENTORING", 5000, 0.6, (1.5, 1.5, 0.8, 0.6, 0.5), 0.8
    ),
    BenefitSpec("career_center", "Career center", "", 1000, 0.4, (1.5, 1.4, 0.8, 0.5, 0.3), 0.7),
    BenefitSpec(
        "leadership_forum", "Leadership forum", "", 12000, 1.0, (0.0, 0.2, 0.6, 1.3, 1.6), 0.8
    ),
)
BENEFIT_CODES: tuple[str, ...] = tuple(b.code for b in BENEFITS)


def _tier(
    code: str, name: str, price: str, rank: int, benefits: set[str], **rules: set[str]
) -> Tier:
    eligibility = Eligibility({k: frozenset(v) for k, v in rules.items()})
    return Tier(code, name, Decimal(price), frozenset(benefits), rank, eligibility)


_STD = {"journal", "community", "research_library", "webinars", "conference_discount"}
_PREM = _STD | {"certification_discount", "mentoring", "career_center"}


def default_structure() -> TierStructure:
    """The structure in force when the generated history starts (before the price change)."""
    return TierStructure(
        (
            _tier(
                "STU",
                "Student",
                "95.00",
                1,
                {"journal", "community", "career_center"},
                career_stage={"student"},
            ),
            _tier(
                "EARLY",
                "Early career",
                "195.00",
                2,
                {"journal", "community", "career_center", "mentoring"},
                career_stage={"student", "early"},
            ),
            _tier("STD", "Standard", str(PRICE_CHANGE_OLD), 3, _STD),
            _tier("PREM", "Premium", "595.00", 4, _PREM),
            _tier(
                "LEAD",
                "Leadership",
                "995.00",
                5,
                _PREM | {"leadership_forum"},
                career_stage={"senior", "executive"},
            ),
        )
    )


def historical_changes(start: date, end: date) -> dict[str, dict[str, object]]:
    """The known changes whose effective date falls before ``end`` (the history's clock).

    Changes effective on or before ``start`` are already in force when the history begins; they
    are listed too, because the prices and tier-benefit tables record them.
    """
    changes: dict[str, dict[str, object]] = {}
    if end > PRICE_CHANGE_DATE:
        changes["price_change"] = {
            "date": PRICE_CHANGE_DATE,
            "tier": PRICE_CHANGE_TIER,
            "old": PRICE_CHANGE_OLD,
            "new": PRICE_CHANGE_NEW,
        }
    if end > BENEFIT_MOVE_DATE:
        changes["benefit_move"] = {
            "date": BENEFIT_MOVE_DATE,
            "benefit": BENEFIT_MOVE_BENEFIT,
            "from": BENEFIT_MOVE_FROM,
            "to": BENEFIT_MOVE_TO,
        }
    return changes


def apply_changes(
    base: TierStructure, changes: dict[str, dict[str, object]], on: date
) -> TierStructure:
    """``base`` with every change in ``changes`` effective on or before ``on`` applied."""
    structure = base
    price = changes.get("price_change")
    if price is not None and price["date"] <= on:  # type: ignore[operator]
        structure = structure.with_price(str(price["tier"]), Decimal(str(price["new"])))
    move = changes.get("benefit_move")
    if move is not None and move["date"] <= on:  # type: ignore[operator]
        structure = structure.with_benefit_moved(
            str(move["benefit"]), str(move["from"]), str(move["to"])
        )
    return structure
