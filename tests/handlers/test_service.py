"""The change-notification endpoint: handshake, authentication, de-duplication, dead letters, health."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from imis_tier.handlers import (
    ChangeNotification,
    HandlerContext,
    HandlerRegistry,
    HandlerService,
    RetryPolicy,
    Runner,
    WebhookAuth,
    sign,
)
from imis_tier.handlers.events import EventDispatcher

SECRET = "s3cret-key-for-tests"
HMAC_KEY = "hmac-key-for-tests"


def _event(
    event_id: str, event_type: str = "Party.Updated", party: str = "40125"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": "/imis/assoc",
        "subject": f"Party/{party}",
        "eventType": event_type,
        "eventTime": "2025-03-03T12:00:00Z",
        "data": {"PartyId": party},
        "dataVersion": "1",
    }


@pytest.fixture
def service(registry: HandlerRegistry, runner: Runner) -> Iterator[HandlerService]:
    dispatcher = EventDispatcher(runner, retry=RetryPolicy(max_attempts=2, initial=0.0, jitter=0.0))
    svc = HandlerService(runner, WebhookAuth(shared_secret=SECRET), port=0, dispatcher=dispatcher)
    with svc:
        yield svc


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _post(svc: HandlerService, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{svc.url}/events", content=json.dumps(body).encode(), **kwargs)


def test_subscription_validation_handshake(service: HandlerService) -> None:
    body = [{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
             "subject": "", "data": {"validationCode": "512d38b6-c7b8", "validationUrl": "https://x"},
             "eventTime": "2025-03-03T12:00:00Z", "dataVersion": "1"}]  # fmt: skip
    response = _post(service, body, params={"code": SECRET})
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8"}


def test_a_change_notification_delivered_twice_runs_its_handler_once(
    registry: HandlerRegistry, service: HandlerService
) -> None:
    seen: list[str] = []

    @registry.register("on-party", trigger=ChangeNotification(("Party.*",)))
    def on_party(ctx: HandlerContext) -> None:
        assert ctx.event is not None
        seen.append(ctx.event["data"]["PartyId"])

    registry.register("on-event", trigger=ChangeNotification(("Event.Created",)))(
        lambda ctx: seen.append("wrong")
    )
    first = _post(service, [_event("e-1")], headers={"X-Imis-Tier-Key": SECRET})
    assert first.status_code == 202 and first.json()["accepted"] == ["e-1"]
    second = _post(service, [_event("e-1")], headers={"X-Imis-Tier-Key": SECRET})
    assert second.status_code == 202 and second.json()["duplicates"] == ["e-1"]
    _wait(lambda: service.runner.journal.events()[0]["status"] == "done")
    time.sleep(0.2)
    assert seen == ["40125"]
    runs = service.runner.journal.runs("on-party")
    assert len(runs) == 1 and runs[0].trigger == "event" and runs[0].event_id == "e-1"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "no shared secret"),
        ({"headers": {"X-Imis-Tier-Key": "guess"}}, "wrong shared secret"),
        ({"params": {"code": "guess"}}, "wrong shared secret"),
    ],
)
def test_unauthenticated_calls_are_refused_and_logged_without_the_secret(
    service: HandlerService, caplog: pytest.LogCaptureFixture, kwargs: dict[str, Any], reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="imis_tier.handlers.service"):
        response = _post(service, [_event("e-2")], **kwargs)
    assert response.status_code == 401
    assert reason in caplog.text and SECRET not in caplog.text
    assert service.runner.journal.events() == []


def test_hmac_signature_is_checked(registry: HandlerRegistry, runner: Runner) -> None:
    svc = HandlerService(runner, WebhookAuth(hmac_secret=HMAC_KEY), port=0)
    with svc:
        body = json.dumps([_event("e-3")]).encode()
        url = f"{svc.url}/events"
        assert httpx.post(url, content=body).status_code == 401
        bad = {"X-Imis-Tier-Signature": "sha256=" + sign(body + b" ", HMAC_KEY)}
        assert httpx.post(url, content=body, headers=bad).status_code == 401
        good = {"X-Imis-Tier-Signature": "sha256=" + sign(body, HMAC_KEY)}
        assert httpx.post(url, content=body, headers=good).status_code == 202


def test_an_event_that_keeps_failing_is_dead_lettered(
    registry: HandlerRegistry, service: HandlerService
) -> None:
    @registry.register("fails", trigger=ChangeNotification(("Party.Updated",)))
    def fails(ctx: HandlerContext) -> None:
        raise ValueError("cannot handle this party")

    response = _post(service, [_event("e-4")], headers={"X-Imis-Tier-Key": SECRET})
    assert response.status_code == 202
    journal = service.runner.journal
    _wait(lambda: bool(journal.dead_letters()))
    [dead] = journal.dead_letters()
    assert (dead["event_id"], dead["handler"], dead["attempts"]) == ("e-4", "fails", 2)
    assert "cannot handle this party" in dead["error"]
    assert journal.events()[0]["status"] == "dead"
    assert len(journal.runs("fails")) == 2


def test_malformed_bodies_get_400_and_health_reports(service: HandlerService) -> None:
    headers = {"X-Imis-Tier-Key": SECRET}
    assert (
        httpx.post(f"{service.url}/events", content=b"{not json", headers=headers).status_code
        == 400
    )
    assert _post(service, [{"id": "x"}], headers=headers).status_code == 400
    health = httpx.get(f"{service.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert SECRET not in health.text
