"""`silentcert audit verify [--store PATH | --neo4j URI] [--audit-key FILE]`: walk the whole audit chain under the
store's key and say where it breaks (exit 1) or that it is intact (exit 0)."""

from __future__ import annotations

import argparse
from pathlib import Path

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.errors import InvalidInput
from silentcert.services.deathcheck.audit import verify_store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="the audit chain of a graph store")
    commands = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = commands.add_parser("verify", help="verify every entry's keyed hash and link; exit 1 at the first break")
    where = check.add_mutually_exclusive_group()
    where.add_argument("--store", type=Path, default=Path("graph.duckdb"),
                       help="embedded graph store file (default ./graph.duckdb, as `serve`)")
    where.add_argument("--neo4j", default=None, metavar="BOLT_URI",
                       help="the chain in this Neo4j (or env NEO4J_URI; NEO4J_USER, NEO4J_PASSWORD)")
    check.add_argument("--audit-key", type=Path, default=None, metavar="FILE",
                       help="the chain's key file (default: beside the embedded store file, or env "
                            "SILENTCERT_AUDIT_KEY_FILE)")
    check.set_defaults(handler=verify_command)


def verify_command(args: argparse.Namespace) -> int:
    settings = StoreSettings.from_env(embedded_path=args.store, neo4j_uri=args.neo4j, audit_key_file=args.audit_key)
    if not settings.uses_neo4j and not settings.embedded_path.exists():
        raise InvalidInput(f"no graph store at {settings.embedded_path}", field="store")
    with open_store(settings) as store:
        count, broken = verify_store(store)
    if broken is not None:
        print(f"audit chain broken at entry {broken.seq} of {count}: {broken.reason}")
        return 1
    print(f"audit chain intact: {count} entries")
    return 0
