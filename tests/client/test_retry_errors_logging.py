"""Retry policy decisions, error classes and the redacting log filter."""

from __future__ import annotations

import dataclasses
import logging
import random

import pytest

from imis_tier.client import (
    AuthError,
    Conflict,
    ImisError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RedactingFilter,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
    redact,
)
from imis_tier.client._base import error_messages
from imis_tier.client._errors import error_class_for
from imis_tier.client._retry import parse_retry_after


def test_policy_is_an_immutable_value_with_copies():
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 9  # type: ignore[misc]
    other = policy.with_max_attempts(2).with_backoff(0.1, 1.0).with_max_retry_after(5)
    assert (
        other.max_attempts,
        other.initial_backoff,
        other.max_backoff,
        other.max_retry_after,
    ) == (2, 0.1, 1.0, 5)
    assert policy.max_attempts == 4
    assert RetryPolicy.never().max_attempts == 1
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (RateLimited("slow down"), False, True),  # the server did not act on it
        (TransportError("refused", connected=False), False, True),  # never reached the server
        (TransportError("dropped"), False, False),  # a write may have happened
        (TransportError("dropped"), True, True),
        (ServerError("boom", status=503), True, True),
        (ServerError("boom", status=503), False, False),
        (ServerError("not implemented", status=501), True, False),
        (ValidationError("bad", status=400), True, False),
        (NotFound("gone", status=404), True, False),
        (ValueError("not ours"), True, False),
    ],
)
def test_only_safe_requests_are_retried(error, idempotent, expected):
    assert RetryPolicy().should_retry(error, idempotent=idempotent) is expected


def test_backoff_is_exponential_with_full_jitter_and_retry_after_is_capped():
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, max_retry_after=10.0)
    rng = random.Random(7)
    waits = [[policy.backoff(n, rng) for _ in range(200)] for n in (1, 2, 3, 4)]
    assert [round(max(w)) for w in waits] == [1, 2, 4, 5]
    assert min(min(w) for w in waits) >= 0
    assert policy.wait_for(RateLimited("x", retry_after=3.0), 1) == 3.0
    assert policy.wait_for(RateLimited("x", retry_after=600.0), 1) == 10.0


def test_retry_after_header_forms():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (405, ValidationError),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, ImisError),
    ],
)
def test_status_maps_to_error_class(status, cls):
    assert error_class_for(status) is cls


def test_errors_say_method_path_status_and_message():
    error = NotFound(
        "Not found", method="GET", path="/api/Party/1", status=404, messages=("Not found",)
    )
    assert str(error) == "GET /api/Party/1 -> 404: Not found"
    assert isinstance(error, ImisError)


def test_error_messages_are_read_from_imis_bodies():
    assert error_messages(
        b'{"$type":"System.Web.Http.HttpError, System.Web.Http","Message":"Authorization has been denied for this request."}'
    ) == ("Authorization has been denied for this request.",)
    assert error_messages(
        b'{"error":"invalid_grant","error_description":"The user name or password is incorrect."}'
    ) == ("The user name or password is incorrect.",)
    nested = b'{"Message":"BadRequest: ValidationError","ValidationResults":{"Errors":{"$values":[{"Message":"Hours must be positive"}]}}}'
    assert error_messages(nested) == ("BadRequest: ValidationError", "Hours must be positive")
    assert error_messages(b"An error occurred. Please contact the administrator.") == (
        "An error occurred. Please contact the administrator.",
    )


SECRETS = [
    ("Authorization: Bearer eyJhbGciOi.abc-123_x", "eyJhbGciOi"),
    ("headers={'Authorization': 'Bearer tok3n'}", "tok3n"),
    ("grant_type=password&username=api.sync&password=S3cret!&x=1", "S3cret!"),
    ('{"access_token":"Qm9ndXM","token_type":"bearer"}', "Qm9ndXM"),
    ("refresh_token=r3fr3sh&client_secret=sh4h", "r3fr3sh"),
    ("refresh_token=r3fr3sh&client_secret=sh4h", "sh4h"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_redact_masks_credentials(text, secret):
    assert secret not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_redacting_filter_cleans_records_and_arguments(caplog):
    log = logging.getLogger("imis_tier.client")
    with caplog.at_level(logging.DEBUG, logger="imis_tier.client"):
        log.debug("sending %s", "Authorization: Bearer SECRET-TOKEN-1")
        log.debug("form grant_type=password&password=%s", "hunter2")
    text = caplog.text
    assert "SECRET-TOKEN-1" not in text and "hunter2" not in text
    assert text.count("[REDACTED]") == 2
    assert any(isinstance(f, RedactingFilter) for f in log.filters)
