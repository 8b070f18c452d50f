"""What `silentcert serve` is told about security, turned into server credentials and the access interceptor.

Refuses to build a plaintext or unauthenticated server unless ``insecure_dev`` says so explicitly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.access_log import AccessLog
from silentcert.services.security.auth import ID_LOOKUP_RATE, AccessInterceptor, Authenticator
from silentcert.services.security.client_roles import ClientRoles
from silentcert.services.security.limits import StreamLimits
from silentcert.services.security.rate_limit import RateLimit, RateLimiter
from silentcert.services.security.tls import TlsFiles, server_credentials
from silentcert.services.security.tokens import TokenBook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SecuritySettings:
    tls: TlsFiles | None = None
    tokens: Path | None = None
    access_log: Path | None = None
    rate: RateLimit = field(default_factory=RateLimit)
    insecure_dev: bool = False
    streams: StreamLimits = field(default_factory=StreamLimits)
    id_lookups: RateLimit = ID_LOOKUP_RATE  # lookups by full ID number, per caller
    client_roles: Path | None = None  # client certificate → role (client_roles.py); required with a client CA


@dataclass(frozen=True)
class ServerSecurity:
    """What build_server needs: TLS credentials (None = plaintext) and the access interceptor."""

    credentials: grpc.ServerCredentials | None
    interceptor: AccessInterceptor
    access_log: AccessLog | None

    def close(self) -> None:
        if self.access_log:
            self.access_log.close()


def server_security(settings: SecuritySettings) -> ServerSecurity:
    """Credentials and interceptor for `settings`; InvalidInput with what to pass when they are not safe."""
    access_log = AccessLog(settings.access_log) if settings.access_log else None
    limiter = RateLimiter(settings.rate)
    if settings.insecure_dev:
        log.warning("--insecure-dev: %s, no authentication: every caller is admin. Never use this with real data.",
                    "TLS on" if settings.tls else "PLAINTEXT")
        credentials = server_credentials(settings.tls) if settings.tls else None
        return ServerSecurity(credentials, AccessInterceptor(None, rate_limiter=limiter, access_log=access_log,
                                                                streams=settings.streams,
                                                                id_lookups=settings.id_lookups),
                              access_log)
    _require_safe(settings)
    assert settings.tls is not None  # _require_safe refuses to serve without TLS
    if access_log is None:
        log.warning("no access log configured: reads of personal data are not recorded")
    tokens = TokenBook(settings.tokens) if settings.tokens else None
    certificates = ClientRoles.load(settings.client_roles) if settings.tls.client_ca and settings.client_roles else None
    authenticator = Authenticator(tokens, certificates=certificates)
    interceptor = AccessInterceptor(authenticator, rate_limiter=limiter, access_log=access_log,
                                    streams=settings.streams, id_lookups=settings.id_lookups)
    return ServerSecurity(server_credentials(settings.tls), interceptor, access_log)


def _require_safe(settings: SecuritySettings) -> None:
    if settings.tls is None:
        raise InvalidInput("refusing to serve without TLS: pass --tls-cert and --tls-key "
                           "(make development ones with `silentcert security dev-ca --out DIR`), "
                           "or --insecure-dev for plaintext without authentication on a development machine",
                           field="tls-cert")
    if settings.tls.client_ca is not None and settings.client_roles is None:
        raise InvalidInput("refusing mutual TLS without --client-roles FILE: which certificate is which role is "
                           "written there (a certificate's OU is chosen by whoever had it signed); "
                           "`silentcert security dev-ca --client` writes one", field="client-roles")
    if settings.tokens is None and settings.tls.client_ca is None:
        raise InvalidInput("refusing to serve without authentication: pass --tokens FILE "
                           "(`silentcert security issue-token`) and/or --tls-client-ca for client certificates",
                           field="tokens")
