"""Drawing new contacts: observable segments and names, and their hidden traits."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from imis_tier.synthetic.catalog import BENEFITS, INDUSTRIES, ORG_SIZES, REGIONS
from imis_tier.synthetic.params import TruthParameters

FIRST_NAMES: tuple[str, ...] = tuple(
    [
        "Ada",
        "Alan",
        "Amara",
        "Ana",
        "Arjun",
        "Ben",
        "Carla",
        "Chen",
        "Chloe",
        "Daniel",
        "Dara",
        "Diego",
        "Elena",
        "Emeka",
        "Emma",
        "Farah",
        "Felix",
        "Grace",
        "Hana",
        "Hugo",
        "Ines",
        "Isaac",
        "Jamal",
        "Jana",
        "Jon",
        "Kai",
        "Karen",
        "Kofi",
        "Lars",
        "Leila",
        "Liam",
        "Lucia",
        "Maya",
        "Mei",
        "Mateo",
        "Nadia",
        "Noah",
        "Nora",
        "Omar",
        "Olga",
        "Paul",
        "Priya",
        "Quinn",
        "Rafael",
        "Rosa",
        "Sam",
        "Sara",
        "Sean",
        "Sofia",
        "Tariq",
        "Tess",
        "Tomas",
        "Uma",
        "Victor",
        "Wei",
        "Yara",
        "Yusuf",
        "Zoe",
        "Zara",
    ]
)
LAST_NAMES: tuple[str, ...] = tuple(
    [
        "Abbott",
        "Adeyemi",
        "Alvarez",
        "Anders",
        "Baker",
        "Banerjee",
        "Becker",
        "Brooks",
        "Campbell",
        "Castro",
        "Chan",
        "Cohen",
        "Cruz",
        "Dubois",
        "Evans",
        "Fischer",
        "Flores",
        "Garcia",
        "Gupta",
        "Hall",
        "Hansen",
        "Haddad",
        "Ito",
        "Jensen",
        "Johnson",
        "Kaur",
        "Kim",
        "Kowalski",
        "Larsen",
        "Lee",
        "Lopez",
        "Martin",
        "Mensah",
        "Meyer",
        "Moreau",
        "Murphy",
        "Nakamura",
        "Nguyen",
        "Novak",
        "Okafor",
        "Olsen",
        "Park",
        "Patel",
        "Perez",
        "Quinn",
        "Rahman",
        "Reyes",
        "Rossi",
        "Sato",
        "Schmidt",
        "Silva",
        "Singh",
        "Smith",
        "Sousa",
        "Tanaka",
        "Taylor",
        "Torres",
        "Walker",
        "Wang",
        "Weber",
        "Williams",
        "Wong",
        "Young",
        "Zhang",
    ]
)
METHODS: tuple[str, ...] = ("CreditCard", "ACH", "Check", "Autopay")

_ORG_WORDS = [
    "Summit",
    "Harbor",
    "Northwind",
    "Cedar",
    "Beacon",
    "Pioneer",
    "Keystone",
    "Meridian",
    "Atlas",
    "Evergreen",
    "Granite",
    "Horizon",
    "Lakeside",
    "Liberty",
    "Redwood",
    "Riverside",
    "Sterling",
    "Vanguard",
    "Willow",
    "Crescent",
]
_ORG_KINDS = {
    "healthcare": "Health",
    "technology": "Systems",
    "finance": "Capital",
    "government": "County Services",
    "education": "University",
    "manufacturing": "Industries",
    "nonprofit": "Foundation",
    "consulting": "Partners",
}
_ORG_SIZE_WEIGHTS = (0.25, 0.3, 0.3, 0.15)


def organizations() -> tuple[tuple[str, ...], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """The fixed employer list: names, industry index and size index per organisation."""
    rng = np.random.default_rng(20_240_601)
    names, industries, sizes = [], [], []
    for i, industry in enumerate(INDUSTRIES):
        for word in _ORG_WORDS:
            names.append(f"{word} {_ORG_KINDS[industry]}")
            industries.append(i)
            sizes.append(int(rng.choice(len(ORG_SIZES), p=_ORG_SIZE_WEIGHTS)))
    return tuple(names), np.array(industries, np.int8), np.array(sizes, np.int8)


_ORG_NAMES, _ORG_INDUSTRY, _ORG_SIZE = organizations()
ORGANIZATIONS = _ORG_NAMES
_REGION_WEIGHTS = (0.2, 0.18, 0.2, 0.14, 0.18, 0.1)
_AGE_BY_STAGE = ((22.0, 2.5), (28.0, 3.0), (39.0, 5.0), (49.0, 5.5), (56.0, 5.5))


def draw(
    k: int,
    stage_weights: tuple[float, ...],
    year: int,
    rng: np.random.Generator,
    params: TruthParameters,
) -> dict[str, npt.NDArray[Any]]:
    """``k`` new contacts as party columns (observable and hidden), not yet members."""
    org = rng.integers(0, len(_ORG_NAMES), k)
    stage = rng.choice(len(stage_weights), size=k, p=np.asarray(stage_weights)).astype(np.int8)
    age_mean = np.array([a for a, _ in _AGE_BY_STAGE])[stage]
    age_sd = np.array([s for _, s in _AGE_BY_STAGE])[stage]
    birth_year = (year - np.round(rng.normal(age_mean, age_sd))).astype(np.int16)
    region = rng.choice(len(REGIONS), size=k, p=np.asarray(_REGION_WEIGHTS)).astype(np.int8)
    org_size = _ORG_SIZE[org]
    laxity = rng.standard_normal(k).astype(np.float32)
    autopay_p = 1.0 / (
        1.0 + np.exp(-(np.log(params.autopay_share / (1 - params.autopay_share)) - 0.6 * laxity))
    )
    autopay = rng.random(k) < autopay_p
    older = np.clip((2000 - birth_year) / 40.0, 0.0, 0.6)
    check = rng.random(k) < 0.05 + 0.25 * older
    method = np.where(autopay, 3, np.where(check, 2, np.where(rng.random(k) < 0.3, 1, 0))).astype(
        np.int8
    )

    mu = rng.normal(params.engagement_mean, params.engagement_spread, k)
    stationary = params.engagement_sigma / np.sqrt(1 - params.engagement_rho**2)
    engagement = mu + rng.normal(0.0, stationary, k)
    log_alpha = (
        np.log(np.asarray(params.alpha_stage))[stage]
        + np.asarray(params.alpha_org_size)[org_size]
        + params.alpha_international * (region == REGIONS.index("international"))
        + rng.normal(0.0, params.alpha_sigma, k)
    )
    habit = params.habit * np.exp(
        rng.normal(0.0, params.habit_sigma, k) - params.habit_sigma**2 / 2
    )
    nb = len(BENEFITS)
    z = rng.standard_normal((k, nb))
    zu = 0.6 * z + 0.8 * rng.standard_normal((k, nb))
    means = np.array([b.value for b in BENEFITS])
    sv, su = params.value_sigma, params.use_sigma
    value = means[None, :] * np.exp(sv * z - sv**2 / 2)
    use = np.exp(su * zu - su**2 / 2)
    return {
        "first": rng.integers(0, len(FIRST_NAMES), k).astype(np.int16),
        "last": rng.integers(0, len(LAST_NAMES), k).astype(np.int16),
        "org": org.astype(np.int16),
        "industry": _ORG_INDUSTRY[org],
        "org_size": org_size,
        "region": region,
        "stage": stage,
        "birth_year": birth_year,
        "autopay": autopay,
        "method": method,
        "laxity": laxity,
        "mu": mu.astype(np.float32),
        "engagement": engagement.astype(np.float32),
        "alpha": np.exp(log_alpha).astype(np.float32),
        "habit": habit.astype(np.float32),
        "value": value.astype(np.float32),
        "use": use.astype(np.float32),
        "login": np.exp(rng.normal(0.0, 0.5, k) - 0.125).astype(np.float32),
        "volunteer": np.exp(rng.normal(0.0, 0.8, k) - 0.32).astype(np.float32),
    }
