"""`silentcert security dev-ca --out DIR` and `silentcert security issue-token --role R --name N --tokens FILE`."""

from __future__ import annotations

import argparse
from pathlib import Path

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.roles import ROLES
from silentcert.services.security.tls import DEFAULT_HOSTS, make_dev_ca
from silentcert.services.security.tokens import issue_token


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("security", help="TLS certificates and access tokens for the gRPC services")
    commands = parser.add_subparsers(dest="security_command", required=True, metavar="ACTION")

    ca = commands.add_parser("dev-ca", help="write a development CA, a server certificate and client certificates")
    ca.add_argument("--out", type=Path, required=True, help="directory for the .pem files (keys are 0600)")
    ca.add_argument("--host", action="append", default=None,
                    help=f"server host name or IP (repeatable; default {', '.join(DEFAULT_HOSTS)})")
    ca.add_argument("--client", action="append", default=[], metavar="NAME:ROLE",
                    help="also issue a client certificate for mutual TLS (repeatable)")
    ca.set_defaults(handler=dev_ca_command)

    token = commands.add_parser("issue-token", help="add a bearer token to a token file and print it once")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--name", required=True, help="who holds the token (written to the access log)")
    token.add_argument("--tokens", type=Path, required=True, help="token file (created 0600 if absent)")
    token.add_argument("--days", type=float, default=90, help="days until the token expires (default 90)")
    token.set_defaults(handler=issue_token_command)


def dev_ca_command(args: argparse.Namespace) -> int:
    clients = [_client(text) for text in args.client]
    written = make_dev_ca(args.out, tuple(args.host or DEFAULT_HOSTS), clients)
    for what, path in written.items():
        print(f"{what}: {path}")
    return 0


def issue_token_command(args: argparse.Namespace) -> int:
    token = issue_token(args.tokens, role=args.role, name=args.name, days=args.days)
    print(token)
    return 0


def _client(text: str) -> tuple[str, str]:
    name, _, role = text.partition(":")
    if not name or role not in ROLES:
        raise InvalidInput(f"--client must be NAME:ROLE with ROLE one of {', '.join(ROLES)}, got {text!r}",
                           field="client")
    return name, role
