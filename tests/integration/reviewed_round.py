"""A finished 1,500-pensioner round served over TLS with a reviewer's and a certifier's token: what the review
console and the `silentcert review` commands are tested against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from silentcert.clients.cli import main
from silentcert.clients.rounds import run_round_files
from silentcert.graph.audit_key import load_audit_key
from silentcert.graph.embedded import EmbeddedStore
from silentcert.services import serving
from silentcert.services.security import roles
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.security.tls import TlsFiles
from silentcert.services.security.tokens import issue_token
from silentcert.synthetic import generate


@dataclass(frozen=True)
class ReviewedRound:
    store: EmbeddedStore
    port: int
    pki: Path  # the development CA's files: ca.pem, server.pem, server-key.pem
    tokens: Path
    reviewer_token: str
    certifier_token: str


@contextmanager
def reviewed_round(base: Path, reviewer: str, access_log: Path | None = None) -> Iterator[ReviewedRound]:
    """Generate and run the round under `base`, then serve its store on a free port until the block ends."""
    generate(pensioners=1500, seed=11, as_of=date(2021, 10, 31), out=base / "round")
    run_round_files(base / "round" / "round.toml", base / "out", store=None, neo4j_uri=None)
    pki = base / "pki"
    assert main(["security", "dev-ca", "--out", str(pki)]) == 0
    tokens = pki / "tokens.json"
    reviewer_token = issue_token(tokens, role=roles.REVIEWER, name=reviewer)
    certifier_token = issue_token(tokens, role=roles.CERTIFIER, name="counter.7")
    security = SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"), tokens=tokens,
                                access_log=access_log, rate=RateLimit(1_000, 1_000))
    with EmbeddedStore(base / "out" / "graph.duckdb") as store:
        store.audit_key = load_audit_key(base / "out" / "graph.duckdb.audit-key")  # serve verifies the chain at start
        running = serving.start(serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0, security=security),
                                [store])
        try:
            yield ReviewedRound(store, running.port, pki, tokens, reviewer_token, certifier_token)
        finally:
            running.server.stop(0).wait()
            running.security.close()
