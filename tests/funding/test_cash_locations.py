"""GET /cash-locations over the shipped sandbox dataset: nearest first, with distance, provider and flow."""

from __future__ import annotations

from oms.funding.cash_location.dataset import DatasetLocations, haversine_km
from oms.kit.ids import is_valid_id
from tests.funding.support import NYC
from tests.support import Api, assert_error


async def test_locations_come_nearest_first_with_their_distance(api: Api) -> None:
    response = await api.get("/cash-locations", provider="greendot", flow="cashIn", **NYC)
    assert response.status_code == 200, response.text
    page = response.json()  # its shape: checked against its schema by tests/contract.py
    assert page["data"], "the dataset has stores in New York"
    distances = [item["distance"] for item in page["data"]]
    assert distances == sorted(distances) and max(distances) <= 25
    first = page["data"][0]
    assert first["id"].startswith("loc_") and first["provider"] == "greendot" and "cashIn" in first["flows"]
    assert first["country"] == "US" and len(first["zipCode"]) == 5 and first["state"]
    at = first["coordinates"]
    expected = haversine_km(NYC["latitude"], NYC["longitude"], at["latitude"], at["longitude"])
    assert abs(first["distance"] - expected) < 0.001
    assert abs(first["distanceMiles"] * 1.609344 - first["distance"]) < 0.01


async def test_radius_and_limit_bound_the_answer(api: Api) -> None:
    wide = (await api.get("/cash-locations", provider="greendot", radius=100, limit=100, **NYC)).json()["data"]
    narrow = (await api.get("/cash-locations", provider="greendot", radius=5, **NYC)).json()["data"]
    assert len(narrow) < len(wide) and all(item["distance"] <= 5 for item in narrow)
    two = (await api.get("/cash-locations", provider="greendot", limit=2, radius=100, **NYC)).json()["data"]
    assert [item["id"] for item in two] == [item["id"] for item in wide[:2]]
    nowhere = await api.get("/cash-locations", provider="greendot", latitude=0, longitude=0)
    assert nowhere.json()["data"] == []


async def test_provider_and_flow_select_the_network(api: Api) -> None:
    atms = (await api.get("/cash-locations", provider="allpoint", flow="cashOut", radius=100, **NYC)).json()["data"]
    assert atms and all(item["provider"] == "allpoint" and item["flows"] == ["cashOut"] for item in atms)
    assert (await api.get("/cash-locations", provider="allpoint", flow="cashIn", radius=100, **NYC)).json()[
        "data"
    ] == []
    cash_out = (await api.get("/cash-locations", provider="greendot", flow="cashOut", radius=100, **NYC)).json()
    assert {item["retailer"] for item in cash_out["data"]} <= {"Walmart", "7-Eleven"}


async def test_bad_queries_are_400_naming_the_parameter(api: Api) -> None:
    assert_error(await api.get("/cash-locations", provider="greendot", latitude=40.7), 400, "parameter_missing",
                 param="longitude")  # fmt: skip
    assert_error(await api.get("/cash-locations", latitude=40.7, longitude=-74), 400, "parameter_missing",
                 param="provider")  # fmt: skip
    assert_error(await api.get("/cash-locations", provider="moneygram", **NYC), 400, "unsupported_provider",
                 param="provider")  # fmt: skip
    assert_error(await api.get("/cash-locations", provider="greendot", flow="both", **NYC), 400, "parameter_invalid",
                 param="flow")  # fmt: skip
    assert_error(await api.get("/cash-locations", provider="greendot", latitude=91, longitude=0), 400,
                 "parameter_invalid", param="latitude")  # fmt: skip


async def test_the_dataset_is_a_few_hundred_us_stores_with_stable_ids() -> None:
    rows = DatasetLocations()._rows
    assert 300 <= len(rows) <= 1000
    assert len({row.id for row in rows}) == len(rows) and all(is_valid_id(row.id, "loc") for row in rows)
    assert len({row.location_reference for row in rows}) == len(rows)
    # Contiguous United States (and Washington DC): latitudes 24..50, longitudes -125..-66.
    assert all(24 < row.latitude < 50 and -125 < row.longitude < -66 for row in rows)
    assert {"CVS", "Walgreens", "Walmart", "7-Eleven", "Dollar General", "Family Dollar", "Rite Aid"} <= {
        row.retailer for row in rows
    }
    assert len({(row.city, row.state) for row in rows}) >= 40
    # An id is derived from its provider reference, so it is the same on every server and after restarts.
    store = DatasetLocations().get("loc_01kdvdna00ej3vkzc4vq4x0h8b")
    assert store is not None and store.location_reference == "GREENDOT-CVS-01366" and store.city == "New York"
