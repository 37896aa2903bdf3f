"""The async client against the running emulator: the same surface with async for / await."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from imis_tier.client import AsyncClient, NotFound, PermissionDenied, Person

from .conftest import async_client_for, client_for


async def test_parties_query_and_pages_match_the_sync_client(emu: Any):
    with client_for(emu) as sync:
        expected = [p.party_id for p in sync.parties.list(limit=60)]
        rows = list(sync.query("$/Tier/Members"))
    async with async_client_for(emu) as imis:
        assert isinstance(imis, AsyncClient)
        assert [p.party_id async for p in imis.parties.list(limit=60)] == expected
        assert [r async for r in imis.query("$/Tier/Members", limit=70)] == rows
        assert [r async for r in imis.iqa("$/Tier/Members")] == rows
        pages = [page async for page in imis.parties.list(limit=60).pages(concurrency=3)]
        assert [p.party_id for page in pages for p in page.items] == expected
        person = await imis.parties.get(expected[0])
        assert person.party_id == expected[0]
        assert isinstance(person, Person) or person.party_id


async def test_entity_writes_and_errors(emu: Any):
    async with async_client_for(emu) as imis:
        party_id = (await imis.parties.list(max_items=1, offset=7).to_list())[0].party_id
        scores = imis.entities("Member_Tier_Score")
        row = await scores.upsert({"ID": party_id, "Engagement": Decimal("0.25")}, key="ID")
        assert (await scores.get(party_id))["Engagement"] == Decimal("0.25")
        reviews = imis.entities("Tier_Review")
        made = await reviews.create({"Reason": "async"}, parent_id=party_id)
        assert made.identity[1] != "0"
        await scores.delete(row.identity)
        with pytest.raises(NotFound):
            await scores.get(party_id)
        with pytest.raises(PermissionDenied):
            await imis.entities("Name_Demo_ReadOnly").create({"Note": "x"}, parent_id=party_id)


async def test_other_resources(emu: Any):
    async with async_client_for(emu) as imis:
        assert "NM" in {t.code for t in await imis.memberships.customer_types()}
        assert all(isinstance(i.price, Decimal) for i in await imis.memberships.billing_items())
        assert [i async for i in imis.financial.invoices(max_items=3)]
        assert [a async for a in imis.activities.list(max_items=3)]
        assert [e async for e in imis.incremental("Invoice", since=None, limit=100)]
        result = await imis.tasks.execute_adhoc("Async task", stored_procedure="sp_x")
        assert result.task_name == "Async task"
        assert (await imis.request("GET", "/api/Party", params=[("limit", "1")]))["Count"] == 1
