"""Generate ``cash_locations.csv``, the sandbox dataset behind ``GET /cash-locations``.

Run once by hand (the CSV is committed; the server never runs this)::

    python -m venv /tmp/gen && /tmp/gen/bin/pip install zipcodes
    /tmp/gen/bin/python oms/funding/data/generate_locations.py

Cities, ZIP codes and ZIP centroids are real (the ``zipcodes`` package's USPS/Census data); store numbers
and street addresses are invented but plausible, and each store sits within about a kilometre of its ZIP
code's centroid. The random generator is seeded, so running it again gives the same file; every id is
derived from the row's provider reference, so ids are stable across restarts and regenerations.
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

import uuid_utils  # typeid's own UUID type (installed with it)
import zipcodes  # type: ignore[import-not-found]  # not a dependency: installed by hand to run this script
from typeid import from_uuid

OUT = Path(__file__).with_name("cash_locations.csv")
SEED = 20260101
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the timestamp part of every location id

CITIES = [
    ("New York", "NY"),
    ("Brooklyn", "NY"),
    ("Bronx", "NY"),
    ("Los Angeles", "CA"),
    ("Chicago", "IL"),
    ("Houston", "TX"),
    ("Phoenix", "AZ"),
    ("Philadelphia", "PA"),
    ("San Antonio", "TX"),
    ("San Diego", "CA"),
    ("Dallas", "TX"),
    ("Austin", "TX"),
    ("Jacksonville", "FL"),
    ("Columbus", "OH"),
    ("Charlotte", "NC"),
    ("Indianapolis", "IN"),
    ("San Francisco", "CA"),
    ("Seattle", "WA"),
    ("Denver", "CO"),
    ("Washington", "DC"),
    ("Nashville", "TN"),
    ("Oklahoma City", "OK"),
    ("El Paso", "TX"),
    ("Boston", "MA"),
    ("Portland", "OR"),
    ("Las Vegas", "NV"),
    ("Detroit", "MI"),
    ("Memphis", "TN"),
    ("Louisville", "KY"),
    ("Baltimore", "MD"),
    ("Milwaukee", "WI"),
    ("Albuquerque", "NM"),
    ("Tucson", "AZ"),
    ("Fresno", "CA"),
    ("Sacramento", "CA"),
    ("Atlanta", "GA"),
    ("Kansas City", "MO"),
    ("Miami", "FL"),
    ("Raleigh", "NC"),
    ("Omaha", "NE"),
    ("Minneapolis", "MN"),
    ("Tampa", "FL"),
    ("New Orleans", "LA"),
    ("Cleveland", "OH"),
    ("Pittsburgh", "PA"),
    ("Saint Louis", "MO"),
    ("Salt Lake City", "UT"),
    ("Birmingham", "AL"),
    ("Newark", "NJ"),
    ("Orlando", "FL"),
]
# Where Kroger (and its banners: Ralphs, King Soopers, Fred Meyer, Smith's, Fry's) runs stores.
KROGER_STATES = {"OH", "KY", "IN", "MI", "TX", "GA", "TN", "AL", "IL", "VA", "CA", "CO", "OR", "WA", "UT", "AZ", "NV"}
# (retailer, display name, code, provider, flows, states it is limited to or None)
RETAILERS = [
    ("CVS", "CVS Pharmacy", "CVS", "greendot", "cashIn", None),
    ("Walgreens", "Walgreens", "WAG", "greendot", "cashIn", None),
    ("Walmart", "Walmart Supercenter", "WMT", "greendot", "cashIn|cashOut", None),
    ("7-Eleven", "7-Eleven", "SEI", "greendot", "cashIn|cashOut", None),
    ("Dollar General", "Dollar General", "DG", "greendot", "cashIn", None),
    ("Family Dollar", "Family Dollar", "FDO", "greendot", "cashIn", None),
    ("Rite Aid", "Rite Aid", "RAD", "greendot", "cashIn", {"CA", "PA", "NY", "NJ", "WA", "OR", "MI", "OH"}),
    ("Target", "AllPoint ATM at Target", "TGT", "allpoint", "cashOut", None),
    ("Walgreens", "AllPoint ATM at Walgreens", "WAG", "allpoint", "cashOut", None),
    ("Kroger", "AllPoint ATM at Kroger", "KR", "allpoint", "cashOut", KROGER_STATES),
]
STREETS = [
    "Main",
    "Broadway",
    "Washington",
    "Park",
    "Oak",
    "Maple",
    "Elm",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Franklin",
    "Lake",
    "Hill",
    "Church",
    "Market",
    "Center",
    "Union",
    "Highland",
    "Jackson",
    "Pine",
    "Cedar",
    "Walnut",
    "Chestnut",
    "Spring",
    "Grand",
    "Sunset",
    "Riverside",
    "Lakeview",
    "College",
    "Division",
    "Central",
    "Adams",
    "Monroe",
    "Wilson",
    "Kennedy",
    "King",
    "Martin Luther King Jr",
    "Commerce",
    "Industrial",
    "Airport",
    "Harbor",
    "Fairview",
    "Dogwood",
    "Magnolia",
    "Peachtree",
    "Colonial",
    "Liberty",
    "Veterans",
]
SUFFIXES = ["St", "Ave", "Blvd", "Rd", "Dr", "Pkwy", "Hwy", "Way", "Ln"]
DIRECTIONS = ["", "", "", "N ", "S ", "E ", "W "]
PER_CITY = 7


def stable_id(reference: str) -> str:
    """A TypeID (``loc_…``) whose UUIDv7 has a fixed timestamp and bits from the reference's hash."""
    raw = bytearray(hashlib.sha256(reference.encode()).digest()[:16])
    raw[0:6] = ID_EPOCH_MS.to_bytes(6, "big")
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(from_uuid(uuid_utils.UUID(bytes=bytes(raw)), "loc"))


def zips_of(city: str, state: str) -> list[dict[str, str]]:
    found = [
        z
        for z in zipcodes.filter_by(city=city, state=state)
        if z["zip_code_type"] == "STANDARD" and z["active"] and z["lat"] and z["long"]
    ]
    if not found:
        raise SystemExit(f"no ZIP codes for {city}, {state}")
    return sorted(found, key=lambda z: z["zip_code"])


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    used_numbers: set[tuple[str, int]] = set()
    for city, state in CITIES:
        zips = zips_of(city, state)
        retailers = [r for r in RETAILERS if r[5] is None or state in r[5]]
        for _ in range(PER_CITY):
            retailer, name, code, provider, flows, _states = rng.choice(retailers)
            number = rng.randint(1000, 19999)
            while (code, number) in used_numbers:
                number = rng.randint(1000, 19999)
            used_numbers.add((code, number))
            place = rng.choice(zips)
            street = f"{rng.randint(100, 9899)} {rng.choice(DIRECTIONS)}{rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
            reference = f"{provider.upper()}-{code}-{number:05d}"
            latitude = round(float(place["lat"]) + rng.uniform(-0.008, 0.008), 6)
            longitude = round(float(place["long"]) + rng.uniform(-0.008, 0.008), 6)
            display_city = "St. Louis" if city == "Saint Louis" else city
            rows.append(
                {
                    "id": stable_id(reference),
                    "location_reference": reference,
                    "provider": provider,
                    "retailer": retailer,
                    "name": f"{name} #{number}",
                    "address": street,
                    "city": display_city,
                    "state": state,
                    "zip_code": place["zip_code"],
                    "country": "US",
                    "latitude": f"{latitude:.6f}",
                    "longitude": f"{longitude:.6f}",
                    "flows": flows,
                }
            )
    rows.sort(key=lambda row: (row["state"], row["city"], row["location_reference"]))
    with OUT.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} locations to {OUT}")


if __name__ == "__main__":
    main()
