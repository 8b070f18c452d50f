"""Choosing and opening the graph store from typed settings.

``open_store(StoreSettings(...))`` gives a Neo4j store when a Bolt URI is set, else the embedded DuckDB file.
Only :meth:`StoreSettings.from_env` reads the environment; call it once in ``main()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from silentcert.graph.audit_key import load_audit_key
from silentcert.graph.embedded import DEFAULT_MEMORY_LIMIT, EmbeddedStore
from silentcert.graph.errors import StoreUnavailable
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import GraphStore

DEFAULT_EMBEDDED_PATH = Path("silentcert-graph.duckdb")
DEFAULT_NEO4J_AUDIT_KEY = Path("silentcert-audit.key")


@dataclass(frozen=True)
class StoreSettings:
    """Where the graph lives. The password never appears in repr() or in error messages."""

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)
    embedded_path: Path = DEFAULT_EMBEDDED_PATH
    neo4j_database: str = "neo4j"
    retry_seconds: float = 60.0
    connect_seconds: float | None = None  # how long the first connection waits for the server; None: retry_seconds
    embedded_compress_strings: bool = False  # DuckDB's string compression in the embedded file (smaller, slower)
    embedded_memory_limit: str | None = DEFAULT_MEMORY_LIMIT  # the embedded store's DuckDB buffers
    # The audit chain's key file (graph.audit_key), created 0600 when absent. None: beside the embedded store
    # file (<file>.audit-key), or silentcert-audit.key in the working directory for Neo4j.
    audit_key_file: Path | None = None

    @property
    def audit_key_path(self) -> Path:
        if self.audit_key_file is not None:
            return self.audit_key_file
        if self.uses_neo4j:
            return DEFAULT_NEO4J_AUDIT_KEY
        return self.embedded_path.with_name(self.embedded_path.name + ".audit-key")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> StoreSettings:
        """Settings from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE, SILENTCERT_NEO4J_RETRY_SECONDS,
        SILENTCERT_GRAPH_PATH, SILENTCERT_GRAPH_MEMORY_LIMIT and SILENTCERT_AUDIT_KEY_FILE; keyword overrides (e.g. from command-line flags)
        win when not None."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "neo4j_uri": env.get("NEO4J_URI") or None,
            "neo4j_user": env.get("NEO4J_USER") or "neo4j",
            "neo4j_password": env.get("NEO4J_PASSWORD") or None,
            "neo4j_database": env.get("NEO4J_DATABASE") or "neo4j",
            "embedded_path": Path(env.get("SILENTCERT_GRAPH_PATH") or DEFAULT_EMBEDDED_PATH),
        }
        if env.get("SILENTCERT_GRAPH_MEMORY_LIMIT"):
            values["embedded_memory_limit"] = env["SILENTCERT_GRAPH_MEMORY_LIMIT"]
        if env.get("SILENTCERT_AUDIT_KEY_FILE"):
            values["audit_key_file"] = Path(env["SILENTCERT_AUDIT_KEY_FILE"])
        if env.get("SILENTCERT_NEO4J_RETRY_SECONDS"):
            values["retry_seconds"] = float(env["SILENTCERT_NEO4J_RETRY_SECONDS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def uses_neo4j(self) -> bool:
        return bool(self.neo4j_uri)


def open_store(settings: StoreSettings) -> GraphStore:
    """The store the settings name, connected (Neo4j: waits, bounded, for the server), with its schema applied and
    its audit key loaded."""
    if not settings.uses_neo4j:
        embedded = EmbeddedStore(settings.embedded_path, memory_limit=settings.embedded_memory_limit,
                                 compress_strings=settings.embedded_compress_strings)
        try:
            embedded.audit_key = load_audit_key(settings.audit_key_path)
        except BaseException:
            embedded.close()
            raise
        return embedded
    # The driver's own managed-transaction retries (30 s by default) run inside each of the store's bounded
    # retries: cap them by the same budget, or an outage takes several times retry_seconds to surface.
    assert settings.neo4j_uri is not None  # uses_neo4j
    driver = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password or ""),
                                        max_transaction_retry_time=min(settings.retry_seconds, 30.0))
    store = Neo4jStore(driver, settings.neo4j_database, close_driver=True,
                       retry_seconds=settings.retry_seconds if settings.connect_seconds is None
                       else settings.connect_seconds)
    try:
        try:
            store.verify()
        except StoreUnavailable as exc:
            raise StoreUnavailable(connection_failure(settings, exc.__cause__)) from exc.__cause__
        store.retry_seconds = settings.retry_seconds
        store.audit_key = load_audit_key(settings.audit_key_path)  # once the server answers: no key file for a typo
        store.apply_schema()
    except BaseException:
        store.close()
        raise
    return store


def connection_failure(settings: StoreSettings, cause: BaseException | None) -> str:
    """What to do when the first connection fails: no server, a missing password, or refused credentials."""
    if isinstance(cause, neo4j.exceptions.AuthError):
        if settings.neo4j_password is None:
            return (f"Neo4j at {settings.neo4j_uri} asks for a password and NEO4J_PASSWORD is not set: export it "
                    "(`silentcert neo4j status` shows where the local server's password is)")
        return (f"Neo4j at {settings.neo4j_uri} refused user {settings.neo4j_user!r} with the NEO4J_PASSWORD given: "
                "check NEO4J_USER and NEO4J_PASSWORD")
    return (f"no Neo4j at {settings.neo4j_uri}: start the local one with `silentcert neo4j start` or check "
            "NEO4J_URI")
