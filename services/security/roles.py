"""The one table of which role may call which rpc.

Roles: ``reader`` (liveness lookups), ``certifier`` (face / in-person checks at a counter or kiosk),
``reviewer`` (death-conflict flags and decisions), ``batch`` (rounds), ``admin`` (everything).
A method missing from the table is refused to every role but admin, so a new rpc is closed until it is listed.
"""

from __future__ import annotations

READER, CERTIFIER, REVIEWER, BATCH, ADMIN = "reader", "certifier", "reviewer", "batch", "admin"
ROLES = (READER, CERTIFIER, REVIEWER, BATCH, ADMIN)

PUBLIC = "public"  # no credential needed (load-balancer health checks)
ANY_ROLE = frozenset(ROLES)

_RESOLVER = "/silentcert.resolver.v1.ResolverService/"
_LIVENESS = "/silentcert.liveness.v1.LivenessService/"
_DEATHCHECK = "/silentcert.deathcheck.v1.DeathCheckService/"

RPC_ROLES: dict[str, frozenset[str]] = {
    _RESOLVER + "ResolveRecord": frozenset({CERTIFIER, REVIEWER, BATCH}),
    _RESOLVER + "GetIdentifiers": frozenset({CERTIFIER, REVIEWER}),
    _RESOLVER + "SubmitRound": frozenset({BATCH}),
    _RESOLVER + "FetchRoundFile": frozenset({BATCH}),
    _LIVENESS + "GetLiveness": frozenset({READER, CERTIFIER, REVIEWER, BATCH}),
    _LIVENESS + "StreamLiveness": frozenset({READER, CERTIFIER, REVIEWER, BATCH}),
    _LIVENESS + "RecordCertification": frozenset({CERTIFIER}),
    _DEATHCHECK + "ListFlags": frozenset({REVIEWER}),
    _DEATHCHECK + "GetFlag": frozenset({REVIEWER}),
    _DEATHCHECK + "DecideFlag": frozenset({REVIEWER}),
    _DEATHCHECK + "GetAuditTrail": frozenset({REVIEWER}),
    "/grpc.health.v1.Health/Check": frozenset({PUBLIC}),
    "/grpc.health.v1.Health/Watch": frozenset({PUBLIC}),
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": ANY_ROLE,
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": ANY_ROLE,
}

# Roles that see ID numbers and phones in full: reviewers compare them against death registers by hand.
FULL_VALUE_ROLES = frozenset({REVIEWER, BATCH, ADMIN})


def is_public(method: str) -> bool:
    return PUBLIC in RPC_ROLES.get(method, frozenset())


def may_call(role: str, method: str) -> bool:
    """True when `role` may call `method` (admin may call everything that exists)."""
    return role == ADMIN or role in RPC_ROLES.get(method, frozenset())


def sees_full_values(role: str) -> bool:
    return role in FULL_VALUE_ROLES
