"""Postal addresses and phone numbers for the synthetic contacts.

The generator draws no addresses, so they are derived here from each party's id and region:
deterministic (no random stream of the association moves), plausible, and varied enough for
filters and exports to have something to show.
"""

from __future__ import annotations

import pandas as pd

# region -> (city, state or province code, state name, postal code, country code, phone prefix)
_PLACES: dict[str, tuple[tuple[str, str, str, str, str, str], ...]] = {
    "northeast": (
        ("Boston", "MA", "Massachusetts", "02108", "US", "+1 617"),
        ("New York", "NY", "New York", "10001", "US", "+1 212"),
        ("Philadelphia", "PA", "Pennsylvania", "19103", "US", "+1 215"),
        ("Hartford", "CT", "Connecticut", "06103", "US", "+1 860"),
    ),
    "southeast": (
        ("Atlanta", "GA", "Georgia", "30303", "US", "+1 404"),
        ("Miami", "FL", "Florida", "33130", "US", "+1 305"),
        ("Charlotte", "NC", "North Carolina", "28202", "US", "+1 704"),
        ("Nashville", "TN", "Tennessee", "37203", "US", "+1 615"),
    ),
    "midwest": (
        ("Chicago", "IL", "Illinois", "60601", "US", "+1 312"),
        ("Columbus", "OH", "Ohio", "43215", "US", "+1 614"),
        ("Minneapolis", "MN", "Minnesota", "55401", "US", "+1 612"),
        ("Detroit", "MI", "Michigan", "48226", "US", "+1 313"),
    ),
    "southwest": (
        ("Dallas", "TX", "Texas", "75201", "US", "+1 214"),
        ("Phoenix", "AZ", "Arizona", "85003", "US", "+1 602"),
        ("Houston", "TX", "Texas", "77002", "US", "+1 713"),
        ("Albuquerque", "NM", "New Mexico", "87102", "US", "+1 505"),
    ),
    "west": (
        ("Seattle", "WA", "Washington", "98101", "US", "+1 206"),
        ("Denver", "CO", "Colorado", "80202", "US", "+1 303"),
        ("San Francisco", "CA", "California", "94105", "US", "+1 415"),
        ("Portland", "OR", "Oregon", "97204", "US", "+1 503"),
    ),
    "international": (
        ("Toronto", "ON", "Ontario", "M5H 2N2", "CA", "+1 416"),
        ("London", "", "", "EC1A 1BB", "GB", "+44 20"),
        ("Sydney", "NSW", "New South Wales", "2000", "AU", "+61 2"),
        ("Dublin", "", "", "D02 X285", "IE", "+353 1"),
    ),
}
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "AU": "Australia",
    "IE": "Ireland",
}
_STREETS = ("Main", "Oak", "Maple", "Cedar", "Park", "Lake", "Hill", "Washington", "Elm", "Pine")
_SUFFIXES = ("St", "Ave", "Blvd", "Rd", "Way")
COLUMNS = (
    "AddressLine",
    "City",
    "StateCode",
    "StateName",
    "PostalCode",
    "CountryCode",
    "Phone",
)


def contact_columns(party_id: pd.Series, region: pd.Series) -> pd.DataFrame:
    """One address and phone per party (columns :data:`COLUMNS`; None where the region is unknown)."""
    ids = party_id.astype("int64").to_numpy()
    regions = region.astype(object).to_numpy()
    rows: list[tuple[str | None, ...]] = []
    for pid, reg in zip(ids.tolist(), regions.tolist(), strict=True):
        places = _PLACES.get(reg) if isinstance(reg, str) else None
        if places is None:
            rows.append((None,) * len(COLUMNS))
            continue
        city, state, state_name, postal, country, prefix = places[pid % len(places)]
        street = f"{100 + (pid * 37) % 9800} {_STREETS[pid % 10]} {_SUFFIXES[(pid // 10) % 5]}"
        rows.append(
            (
                street,
                city,
                state or None,
                state_name or None,
                postal,
                country,
                f"{prefix} 555 {pid % 10000:04d}",
            )
        )
    return pd.DataFrame(rows, columns=list(COLUMNS), index=party_id.index, dtype=object)
