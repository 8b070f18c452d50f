"""Who may call the gRPC services and what they see.

    tls.py          dev CA and certificates; server credentials; the identity in a client certificate
    tokens.py       the token file: hashed bearer tokens with role, name and expiry
    roles.py        the one table of which role may call which rpc, and which roles see full ID numbers
    auth.py         the one server interceptor: authenticate, authorize, rate-limit, mask, log person reads
    masking.py      ID numbers and phones masked in responses
    access_log.py   append-only JSON lines: who read which person through which rpc, when
    rate_limit.py   a token bucket per caller
    limits.py       bounds on open streams, lookups per stream, stream lifetime and concurrent rounds
    settings.py     what `silentcert serve` is told (TLS files, token file, --insecure-dev) → credentials
    command.py      `silentcert security dev-ca | issue-token`

See docs/security.md.
"""
