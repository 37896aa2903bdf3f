"""The :class:`Emulator`: a faithful iMIS on loopback, for tests, demos and your own automation."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from imis_tier.emulator._association import Association
from imis_tier.emulator._auth import TokenAuthority
from imis_tier.emulator._core import EmulatorCore, TriggeredTask
from imis_tier.emulator._faults import FaultConfig, FaultInjector
from imis_tier.emulator._journal import Journal
from imis_tier.emulator._queries import Compute, Prompt, QueryDefinition
from imis_tier.emulator._server import EmulatorHTTPServer, RequestRecord
from imis_tier.emulator._sources import DEFAULT_SOURCES, SourceDefinition
from imis_tier.structure import TierStructure

DEFAULT_TOKEN_LIFETIME_S = 1_209_599  # two weeks less a second, as iMIS answers


@dataclass(frozen=True)
class EmulatorConfig:
    """How to build and serve an emulated iMIS.

    The data is ``generate_association(members=members, seed=seed, months=months)`` unless an
    ``association`` (anything with the generator's surface, e.g. :class:`StaticAssociation`) is
    given. ``port=0`` picks a free port. ``password=None`` makes a random one (see
    ``Emulator.password``). ``state_file`` keeps writes across restarts.
    """

    members: int = 500
    seed: int = 1
    months: int = 36
    host: str = "127.0.0.1"
    port: int = 0
    username: str = "api.sync"
    password: str | None = None
    client_apps: Mapping[str, str] = field(
        default_factory=lambda: {"imis-tier": "emulator-client-secret"}
    )
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S
    faults: FaultConfig = field(default_factory=FaultConfig)
    sources: Sequence[SourceDefinition] = DEFAULT_SOURCES
    queries: Sequence[QueryDefinition] = ()
    state_file: str | Path | None = None
    association: Association | None = None
    prewarm: Sequence[str] = ()  # entities whose rows are encoded on a background thread at start


class Emulator:
    """A running (or ready-to-run) emulated iMIS site.

    >>> with Emulator(EmulatorConfig(members=200, seed=1)).running() as emu:  # doctest: +SKIP
    ...     emu.base_url, emu.username, emu.password
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.username = self.config.username
        self.password = self.config.password or secrets.token_urlsafe(12)
        association = self.config.association or _generate(self.config)
        header: dict[str, Any] = (
            {"members": self.config.members, "seed": self.config.seed, "months": self.config.months}
            if self.config.association is None
            else {"association": type(association).__name__}
        )
        journal = Journal(self.config.state_file, header)
        ops = journal.existing()
        self.core = EmulatorCore(association, self.config.sources, journal)
        for query in self.config.queries:
            self.core.define_query(query, journal=False)
        self.core.replay(ops)
        journal.start()
        self.faults = FaultInjector(self.config.faults)
        self.auth = TokenAuthority(
            {self.username: self.password},
            self.config.client_apps,
            self._token_lifetime(self.config.faults),
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._warmer: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Bind and serve on a background thread; returns self."""
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self.config.host, self.config.port), self)
        # A short poll interval keeps stop() quick (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="imis-emulator",
            daemon=True,
        )
        self._thread.start()
        if self.config.prewarm:
            self._warmer = threading.Thread(
                target=self._prewarm, name="imis-emulator-prewarm", daemon=True
            )
            self._warmer.start()
        return self

    def wait_prewarmed(self, timeout: float | None = None) -> bool:
        """Block until the background pre-encoding is done (True) or ``timeout`` passes."""
        if self._warmer is not None:
            self._warmer.join(timeout)
            return not self._warmer.is_alive()
        return True

    def _prewarm(self) -> None:
        for entity in self.config.prewarm:
            self.core.prewarm(entity)

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (the CLI's ``serve``)."""
        if self._server is None:
            self._server = EmulatorHTTPServer((self.config.host, self.config.port), self)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    @contextmanager
    def running(self) -> Iterator[Emulator]:
        """``with Emulator(cfg).running() as emu:`` serves for the block, then stops."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # -- what tests look at --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use running()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def clock(self) -> date:
        return self.core.clock

    @property
    def triggered_tasks(self) -> list[TriggeredTask]:
        return list(self.core.triggered_tasks)

    @property
    def request_log(self) -> list[RequestRecord]:
        return list(self._server.request_log) if self._server is not None else []

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url if self._server is not None else None,
            "username": self.username,
            "clock": self.clock.isoformat(),
            "members": self.config.members if self.config.association is None else None,
            "seed": self.config.seed if self.config.association is None else None,
            "client_apps": sorted(self.config.client_apps),
        }

    # -- knobs -------------------------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault settings (the random sequence restarts from ``faults.seed``)."""
        self.faults.configure(faults)
        self.auth.lifetime_s = self._token_lifetime(faults)

    def _token_lifetime(self, faults: FaultConfig) -> float:
        return (
            faults.token_lifetime_s
            if faults.token_lifetime_s is not None
            else self.config.token_lifetime_s
        )

    def advance(self, months: int = 1) -> date:
        """Step the association ``months`` forward under the structure in force here; new rows
        appear with UpdatedOn stamps. Returns the new clock."""
        return self.core.advance(months)

    def structure_in_force(self) -> TierStructure:
        """Tiers, prices and benefits as this iMIS holds them now (API writes included)."""
        return self.core.structure_in_force()

    def define_query(
        self,
        path: str,
        *,
        entity: str | None = None,
        columns: Mapping[str, str] | None = None,
        prompts: Sequence[Prompt] = (),
        compute: Compute | None = None,
        description: str = "",
    ) -> QueryDefinition:
        """Install a named IQA query (declarative over an entity, or computed from tables)."""
        query = QueryDefinition(
            path, entity, dict(columns or {}), tuple(prompts), compute, description
        )
        self.core.define_query(query, journal=compute is None)
        return query

    def define_source(
        self,
        name: str,
        properties: Mapping[str, str] | None = None,
        *,
        multi_instance: bool = False,
        standalone: bool = False,
        read_only: bool = False,
        description: str = "",
    ) -> SourceDefinition:
        """Create (or redefine, emptying it) a custom business object / panel source."""
        source = SourceDefinition(
            name, dict(properties or {}), multi_instance, standalone, read_only, description
        )
        self.core.define_source(source)
        return source

    def refresh_token(self, client_id: str | None = None) -> str:
        """A refresh token for a configured client app, as an SSO sign-in would provide."""
        return self.auth.issue_refresh_token(
            client_id or next(iter(self.config.client_apps)), self.username
        )


def _generate(config: EmulatorConfig) -> Association:
    try:
        from imis_tier.synthetic import generate_association
    except ImportError as exc:  # pragma: no cover - the generator ships with the package
        raise RuntimeError(
            "imis_tier.synthetic.generate_association is unavailable; pass association="
        ) from exc
    association: Association = generate_association(
        members=config.members, seed=config.seed, months=config.months
    )
    return association
