"""A typed iMIS REST client, sync and async.

::

    from imis_tier.client import Client

    with Client() as imis:  # settings from arguments, IMIS_* variables or the OS keyring
        for person in imis.parties.list(CustomerTypeCode="in:REG|STU"):
            print(person.party_id, person.customer_type_code, person.paid_thru_date)

See ``docs/client.md`` for a guide.
"""

from imis_tier.client._async import AsyncClient
from imis_tier.client._auth import Token
from imis_tier.client._base import DEFAULT_TIMEOUT, RequestSpec
from imis_tier.client._codec import NO_DATE, Entity, WireCodec
from imis_tier.client._config import ENV_VARS, KEYRING_SERVICE, ClientConfig, resolve_config
from imis_tier.client._errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    ImisError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
)
from imis_tier.client._limits import Limits
from imis_tier.client._logging import RedactingFilter, enable_debug, redact
from imis_tier.client._paging import MAX_PAGE_SIZE, AsyncPager, Page, PageCursor, SyncPager
from imis_tier.client._retry import RetryPolicy
from imis_tier.client._sync import Client
from imis_tier.client._transport import Urllib3Transport
from imis_tier.client.models import (
    Activity,
    BillingCycle,
    BillingItem,
    Change,
    ChangeLogEntry,
    CustomerType,
    Event,
    EventRegistration,
    ImisModel,
    Invoice,
    Organization,
    Party,
    Payment,
    Person,
    PhoneNumber,
    PostalAddress,
    TaskDefinition,
    TaskResult,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_VARS",
    "KEYRING_SERVICE",
    "MAX_PAGE_SIZE",
    "NO_DATE",
    "Activity",
    "AsyncClient",
    "AsyncPager",
    "AuthError",
    "BillingCycle",
    "BillingItem",
    "Change",
    "ChangeLogEntry",
    "Client",
    "ClientConfig",
    "ConfigurationError",
    "Conflict",
    "CustomerType",
    "Entity",
    "Event",
    "EventRegistration",
    "ImisError",
    "ImisModel",
    "Invoice",
    "Limits",
    "NotFound",
    "Organization",
    "Page",
    "PageCursor",
    "Party",
    "Payment",
    "PermissionDenied",
    "Person",
    "PhoneNumber",
    "PostalAddress",
    "RateLimited",
    "RedactingFilter",
    "RequestSpec",
    "RetryPolicy",
    "ServerError",
    "SyncPager",
    "TaskDefinition",
    "TaskResult",
    "Token",
    "TransportError",
    "Urllib3Transport",
    "ValidationError",
    "WireCodec",
    "enable_debug",
    "redact",
    "resolve_config",
]
