"""Event registration writes (RegisterEvent / CancelEventRegistration) through both clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imis_tier.client import Client, Conflict, EventRegistration, NotFound, ServerError

from .conftest import async_client_for, client_for


@pytest.fixture
def private(make_imis_emulator: Callable[..., Any]) -> Any:
    """A private emulator: these tests write registrations."""
    return make_imis_emulator(members=80, seed=5, months=12)


def _unregistered(imis: Client, skip: int = 0) -> tuple[str, str]:
    """An (event, party) pair with no registration yet."""
    events = [e.event_id for e in imis.events.list()]
    parties = [p.party_id for p in imis.parties.list(max_items=40)]
    taken = {(r.event_id, r.party_id) for r in imis.events.registrations()}
    free = [(e, p) for e in events for p in parties if (e, p) not in taken]
    return free[skip]


def test_register_shows_in_listing_and_cancel_sets_status_0(private: Any):
    with client_for(private) as imis:
        event_id, party_id = _unregistered(imis)
        made = imis.events.register(event_id, party_id, functions=["REGOPT1", "SESSION2"])
        assert isinstance(made, EventRegistration)
        assert made.event_registration_id == f"{event_id}-{party_id}"
        assert (made.event_id, made.party_id, made.status) == (event_id, party_id, 1)
        assert made.is_active and made.registered_on is not None
        assert made.function_codes == ("REGOPT1", "SESSION2")

        [listed] = imis.events.registrations(event_id=event_id, party_id=party_id)
        assert listed.event_registration_id == made.event_registration_id
        assert listed.status == 1 and listed.function_codes == ("REGOPT1", "SESSION2")

        cancelled = imis.events.cancel_registration(event_id, int(party_id))
        assert cancelled.event_registration_id == made.event_registration_id
        assert cancelled.status == 0 and not cancelled.is_active
        [listed] = imis.events.registrations(event_id=event_id, party_id=party_id)
        assert listed.status == 0
        # Cancelling again changes nothing; registering again makes it active once more.
        assert imis.events.cancel_registration(event_id, party_id).status == 0
        again = imis.events.register(event_id, party_id)
        assert again.status == 1 and again.function_codes == ()


def test_registering_twice_is_a_conflict_naming_the_registration(private: Any):
    with client_for(private) as imis:
        event_id, party_id = _unregistered(imis)
        imis.events.register(event_id, party_id, functions="REGOPT1")
        before = imis.request_count
        with pytest.raises(Conflict, match=f"EventRegistration '{event_id}-{party_id}'"):
            imis.events.register(event_id, party_id)
        assert imis.request_count - before == 1


def test_unknown_event_party_or_registration_is_not_found(private: Any):
    with client_for(private) as imis:
        event_id, party_id = _unregistered(imis)
        with pytest.raises(NotFound, match="Event 'NO-SUCH-EVENT' was not found"):
            imis.events.register("NO-SUCH-EVENT", party_id)
        with pytest.raises(NotFound, match="Party '999999999' was not found"):
            imis.events.register(event_id, 999999999)
        with pytest.raises(NotFound, match=f"EventRegistration '{event_id}-{party_id}'"):
            imis.events.cancel_registration(event_id, party_id)
        assert not list(imis.events.registrations(event_id=event_id, party_id=party_id))


def test_register_is_never_retried_but_cancel_is(private: Any):
    from imis_tier.emulator import FaultConfig

    with client_for(private) as imis:
        event_id, party_id = _unregistered(imis)
        imis.events.register(event_id, party_id)
        other_event, other_party = _unregistered(imis)
        private.set_faults(FaultConfig(error_rate=1.0, seed=1))
        try:
            before = imis.request_count
            with pytest.raises(ServerError):
                imis.events.register(other_event, other_party)
            assert imis.request_count - before == 1
            before = imis.request_count
            with pytest.raises(ServerError):
                imis.events.cancel_registration(event_id, party_id)
            assert imis.request_count - before == 6  # idempotent: max_attempts tries
        finally:
            private.set_faults(FaultConfig())


async def test_async_register_and_cancel(private: Any):
    with client_for(private) as sync:
        event_id, party_id = _unregistered(sync, skip=1)
    async with async_client_for(private) as imis:
        made = await imis.events.register(event_id, party_id, functions=("REGOPT2",))
        assert made.event_registration_id == f"{event_id}-{party_id}" and made.is_active
        assert made.function_codes == ("REGOPT2",)
        listed = [r async for r in imis.events.registrations(event_id=event_id)]
        assert made.event_registration_id in {r.event_registration_id for r in listed}
        with pytest.raises(Conflict):
            await imis.events.register(event_id, party_id)
        cancelled = await imis.events.cancel_registration(event_id, party_id)
        assert cancelled.status == 0
        with pytest.raises(NotFound, match="Event 'NOPE' was not found"):
            await imis.events.register("NOPE", party_id)
        with pytest.raises(NotFound):
            await imis.events.cancel_registration("NOPE", party_id)
