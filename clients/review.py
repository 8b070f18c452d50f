"""`silentcert review list | show | decide`: work the death check's flags from a terminal or a script, over the
DeathCheck rpcs (ListFlags, GetFlag, GetAuditTrail, DecideFlag), with the TLS and token options of `round submit`.

    silentcert review list   --server HOST:PORT --token T --ca ca.pem [--county 360729] [--status escalated]
    silentcert review show   FLAG_ID --server HOST:PORT --token T --ca ca.pem
    silentcert review decide FLAG_ID clear --reviewer zhang.wei --note "seen at the township office" --server ...

A decision is recorded under --reviewer; for the reviewer role that must be the token's own name (the server
checks), so nobody decides in another's name. `clear` is the rpc's DISMISS: the flag is wrong, the evidence stands.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict

from silentcert.clients.grpc_client import ClientTls, SilentcertClient, open_channel
from silentcert.deathcheck.v1 import deathcheck_pb2 as pb
from silentcert.graph.errors import InvalidInput
from silentcert.services.deathcheck.effects import EFFECTS
from silentcert.services.deathcheck.servicer import MAX_PAGE  # the server's largest page

ACTIONS = {"confirm": pb.DECISION_ACTION_CONFIRM, "clear": pb.DECISION_ACTION_DISMISS,
           "dismiss": pb.DECISION_ACTION_DISMISS, "escalate": pb.DECISION_ACTION_ESCALATE}
STATUSES = ("open", "escalated", "confirmed", "dismissed", "any")
SEVERITIES = ("low", "medium", "high", "critical")


def register(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser("review", help="work death-check flags: the queue, one case, a decision")
    actions = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")

    queue = actions.add_parser("list", help="the review queue, most severe first")
    queue.add_argument("--kind", choices=sorted(EFFECTS), help="only flags of this kind")
    queue.add_argument("--severity", choices=SEVERITIES, help="only flags of this severity")
    queue.add_argument("--county", type=county_code, help="only pensioners of this 6-digit county code")
    queue.add_argument("--status", choices=STATUSES, default="open",
                       help="flags in this review state (default open; escalated: passed up to a senior reviewer)")
    queue.add_argument("--limit", type=positive, default=50, help="at most this many flags (default 50)")
    queue.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
    queue.set_defaults(handler=_guarded(list_command))

    show = actions.add_parser("show", help="one flag: the person, the records it cites, their audit trail")
    show.add_argument("flag_id")
    show.add_argument("--json", action="store_true", help="the GetFlag and GetAuditTrail answers as JSON")
    show.set_defaults(handler=_guarded(show_command))

    decide = actions.add_parser("decide", help="confirm, clear or escalate a flag; recorded in the audit trail")
    decide.add_argument("flag_id")
    decide.add_argument("action", choices=ACTIONS, help="confirm: the flag is right; clear (= dismiss): it is "
                                                        "wrong, the evidence stands; escalate: a senior decides")
    decide.add_argument("--reviewer", required=True, help="who decides (for the reviewer role: the token's name)")
    decide.add_argument("--note", default="", help="why; required to clear")
    decide.set_defaults(handler=_guarded(decide_command))

    for parser in (queue, show, decide):
        connection_arguments(parser)


def connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, metavar="HOST:PORT", help="the deathcheck service")
    parser.add_argument("--token", default=None, help="bearer token (or env SILENTCERT_TOKEN); role reviewer")
    parser.add_argument("--ca", type=Path, default=None, help="CA certificate for TLS (plaintext without it)")
    parser.add_argument("--cert", type=Path, default=None, help="client certificate for mutual TLS")
    parser.add_argument("--key", type=Path, default=None, help="client key for mutual TLS")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call (default 30)")


def county_code(text: str) -> str:
    if not re.fullmatch(r"\d{6}", text):
        raise argparse.ArgumentTypeError(f"a county code is 6 digits, e.g. 360729; got {text!r}")
    return text


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _client(args: argparse.Namespace):
    if (args.cert is None) != (args.key is None):
        raise InvalidInput("--cert and --key go together", field="cert")
    tls = ClientTls(args.ca, args.cert, args.key) if args.ca else None
    channel = open_channel(args.server, token=args.token or os.environ.get("SILENTCERT_TOKEN"), tls=tls)
    return SilentcertClient(args.server, channel=channel, timeout=args.timeout)


def _guarded(command):
    """Failures the server or the channel report as a one-line reason and exit status 2 (a SilentcertError is
    printed the same way by clients.cli)."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except grpc.RpcError as error:
            code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
            details = error.details() if isinstance(error, grpc.Call) else str(error)
            print(f"silentcert review: {code}: {details} (server {args.server})", file=sys.stderr)
            return 2
    return run


# --- list ---------------------------------------------------------------------------------------------------------

def queue_filters(args: argparse.Namespace) -> dict:
    """ListFlagsRequest fields for the command line's filters (unset ones match everything)."""
    filters = {"kind": args.kind or "", "county_code": args.county or ""}
    if args.severity:
        filters["severity"] = pb.FlagSeverity.Value(f"FLAG_SEVERITY_{args.severity.upper()}")
    if args.status != "any":
        filters["status"] = pb.FlagStatus.Value(f"FLAG_STATUS_{args.status.upper()}")
    return filters


def queue(client, args: argparse.Namespace) -> Iterator[pb.Flag]:
    """Up to args.limit flags, following page tokens (no page is asked for beyond the limit)."""
    return islice(client.iter_flags(page_size=min(args.limit, MAX_PAGE), **queue_filters(args)), args.limit)


def list_command(args: argparse.Namespace) -> int:
    with _client(args) as client:
        flags = list(queue(client, args))
    if args.json:
        for flag in flags:
            print(json.dumps(_flag_dict(flag), ensure_ascii=False))
        return 0
    if not flags:
        print("no flags match")
        return 0
    print(f"{'flag':<52} {'kind':<26} {'severity':<9} {'status':<10} {'county':<7} {'person':<12} {'overpayment':>12}")
    for f in flags:
        print(f"{f.flag_id:<52} {f.kind:<26} {_severity(f):<9} {_status(f):<10} {f.county_code:<7} "
              f"{f.person_id:<12} {f.overpayment:>12,.2f}")
    print(f"{len(flags)} flag(s){' (limit reached: --limit for more)' if len(flags) == args.limit else ''}")
    return 0


# --- show ---------------------------------------------------------------------------------------------------------

def show_command(args: argparse.Namespace) -> int:
    with _client(args) as client:
        detail = client.get_flag(args.flag_id)
        trail = client.audit_trail(detail.flag.person_id)
    if args.json:
        print(json.dumps({"flag": MessageToDict(detail, preserving_proto_field_name=True),
                          "audit_trail": [MessageToDict(e, preserving_proto_field_name=True) for e in trail]},
                         ensure_ascii=False, indent=1))
        return 0
    for line in case_lines(detail, trail):
        print(line)
    return 0


def case_lines(detail: pb.GetFlagResponse, trail: list[pb.AuditEntry]) -> list[str]:
    """The case as a reviewer reads it: the flag, the person, the records (cited ones starred), the audit trail."""
    f, p = detail.flag, detail.person
    lines = [f"flag        {f.flag_id}",
             f"            {f.kind}, {_severity(f)}, {_status(f)}; round {f.round_id}, county {f.county_code}"
             + (f", ring {f.ring_id}" if f.ring_id else ""),
             f"detail      {f.detail}",
             f"overpayment {f.overpayment:,.2f}"]
    if f.decided_by:
        lines.append(f"decided     by {f.decided_by} at {f.decided_at.ToJsonString()}: {f.note}")
    if detail.HasField("person"):
        lines.append(f"person      {p.person_id} {p.name}, ID {p.id_number}, county {p.county_code}, status "
                     f"{p.status}, certified until {p.certified_until or '-'}, {p.monthly_pension:,.2f} a month")
    cited = {e.target for e in detail.edges if e.type == "CITES" and e.source == f"Flag:{f.flag_id}"}
    records = sorted((n for n in detail.nodes if n.label in ("DeathRecord", "Event")),
                     key=lambda n: (n.properties.get("occurred_at", ""), n.id))
    lines.append(f"records     {len(records)} ({len(cited)} cited by the flag, marked *)")
    for n in records:
        props = n.properties
        lines.append(f"  {'*' if n.id in cited else ' '} {props.get('occurred_at', '')[:19]:<19} {n.label:<11} "
                     f"{props.get('source', ''):<16} {props.get('kind', ''):<10} {props.get('record_id', '')}")
    lines.append(f"audit trail {len(trail)} entr{'y' if len(trail) == 1 else 'ies'} of {f.person_id}")
    for e in trail:
        lines.append(f"  #{e.seq:<6} {e.at.ToJsonString():<24} {e.actor:<20} {e.action:<22} {e.subject}")
    return lines


# --- decide -------------------------------------------------------------------------------------------------------

def decide_command(args: argparse.Namespace) -> int:
    with _client(args) as client:
        answer = client.decide_flag(args.flag_id, ACTIONS[args.action], args.reviewer, args.note)
    f, entry = answer.flag, answer.audit_entry
    print(f"flag {f.flag_id}: {_status(f)} by {f.decided_by} at {f.decided_at.ToJsonString()}")
    print(f"audit entry #{entry.seq} ({entry.action}, hash {entry.hash[:16]}…) recorded for {entry.person_id}")
    return 0


# --- formatting ---------------------------------------------------------------------------------------------------

def _severity(f: pb.Flag) -> str:
    return pb.FlagSeverity.Name(f.severity).removeprefix("FLAG_SEVERITY_").lower()


def _status(f: pb.Flag) -> str:
    return pb.FlagStatus.Name(f.status).removeprefix("FLAG_STATUS_").lower()


def _flag_dict(f: pb.Flag) -> dict:
    row = MessageToDict(f, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    return {**row, "severity": _severity(f), "status": _status(f)}
