"""`silentcert round run ROUND.toml --out DIR`: run a province round on this machine."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from silentcert.clients import logs
from silentcert.clients.grpc_client import ClientTls, SilentcertClient, open_channel
from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.store import GraphStore
from silentcert.services.rounds.outputs import OUTPUT_NAMES
from silentcert.services.rounds.pipeline import RoundSummary, default_stages, run_round
from silentcert.services.rounds.progress import ConsoleProgress
from silentcert.services.rounds.roundfile import RoundSpec, load_round
from silentcert.services.settings import RoundSettings

EMBEDDED_STORE = "graph.duckdb"
FIRST_CONNECT_SECONDS = 5.0  # a round's Neo4j must answer within this; a restart mid-round gets retry_seconds


def register(sub: argparse._SubParsersAction) -> None:
    rounds = sub.add_parser("round", help="province rounds")
    rounds_sub = rounds.add_subparsers(dest="round_command", required=True, metavar="ACTION")
    run = rounds_sub.add_parser("run", help="run (or resume) a round and write its outputs")
    run.add_argument("round_file", type=Path, help="round.toml (or the directory holding it)")
    run.add_argument("--out", type=Path, required=True, help="output directory (docs/contract.md section 3)")
    run.add_argument("--store", type=Path, default=None,
                     help=f"embedded graph store file; default OUT/{EMBEDDED_STORE}; give consecutive rounds the "
                          "same store so periods and reviewed decisions carry over")
    run.add_argument("--neo4j", default=None, metavar="BOLT_URI",
                     help="also publish to this Neo4j (or env NEO4J_URI; user/password from NEO4J_USER, "
                          "NEO4J_PASSWORD)")
    run.set_defaults(handler=run_command)

    submit = rounds_sub.add_parser("submit", help="run a round on running silentcert services and follow it")
    submit.add_argument("round_file", help="round.toml path on the server, below its --rounds-root (a relative path "
                                           "is taken from the first rounds root)")
    submit.add_argument("--out", required=True, help="output directory on the server, below its rounds output root "
                                                     "(a relative path is taken from that root)")
    submit.add_argument("--server", required=True, metavar="HOST:PORT", help="the resolver service")
    submit.add_argument("--token", default=None, help="bearer token (or env SILENTCERT_TOKEN); role batch")
    submit.add_argument("--ca", type=Path, default=None, help="CA certificate for TLS (plaintext without it)")
    submit.add_argument("--cert", type=Path, default=None, help="client certificate for mutual TLS")
    submit.add_argument("--key", type=Path, default=None, help="client key for mutual TLS")
    submit.add_argument("--fetch", type=Path, default=None, metavar="DIR",
                        help="copy the round's output files from the server into DIR when it has finished")
    submit.set_defaults(handler=submit_command)


def run_command(args: argparse.Namespace) -> int:
    spec, settings = load_round_and_settings(args.round_file)
    logs.log_to_file(args.out)  # only once the round file is sound: a refused round leaves no directory behind
    summary = run_loaded_round(spec, settings, args.out, args.store, args.neo4j or os.environ.get("NEO4J_URI"))
    print_summary(summary)
    return 0


def submit_command(args: argparse.Namespace) -> int:
    tls = ClientTls(args.ca, args.cert, args.key) if args.ca else None
    channel = open_channel(args.server, token=args.token or os.environ.get("SILENTCERT_TOKEN"), tls=tls)
    progress = ConsoleProgress()
    with SilentcertClient(args.server, channel=channel) as client:
        final = _follow(client.submit_round(args.round_file, args.out), progress)
        print(f"\n{final.message}")
        print(figures_table({**final.summary.counts, **final.summary.figures}))
        if args.fetch:
            args.fetch.mkdir(parents=True, exist_ok=True)
            for name in OUTPUT_NAMES:
                size = client.fetch_round_file(args.out, name, args.fetch / name)
                print(f"fetched {name} ({size:,} bytes)")
            print(f"outputs: {args.fetch.resolve()}")
    return 0


def _follow(events, progress: ConsoleProgress):
    """Show streamed round events as local progress; returns the final event."""
    last, current = None, None
    for event in events:
        if event.stage == "done":
            last = event
            continue
        if event.stage != current:
            if current:
                progress.stage_finished(current, {})
            progress.stage_started(event.stage)
            current = event.stage
        if event.rows_done or event.rows_total:  # a stage's start and end carry no rows: nothing to show
            progress.advance(event.stage, event.rows_done, event.rows_total or None)
    if current:
        progress.stage_finished(current, {})
    return last


def figures_table(figures: dict[str, int | float]) -> str:
    """"stage.name value" lines in the stages' order, names and values in aligned columns."""
    order = [stage.name for stage in default_stages()]

    def key(name: str) -> tuple[int, str]:
        stage = name.split(".", 1)[0]
        return (order.index(stage) if stage in order else len(order), name)

    shown = [(name, _figure(figures[name])) for name in sorted(figures, key=key)]
    if not shown:
        return ""
    name_width, value_width = max(len(n) for n, _ in shown), max(len(v) for _, v in shown)
    return "\n".join(f"  {name:<{name_width}}  {value:>{value_width}}" for name, value in shown)


def _figure(value: int | float) -> str:
    if isinstance(value, float):
        text = f"{value:,.4f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{value:,}"


def run_round_files(round_file: Path, out: Path, store: Path | None, neo4j_uri: str | None) -> RoundSummary:
    """Load the round file and settings, open the stores, run the round."""
    spec, settings = load_round_and_settings(round_file)
    return run_loaded_round(spec, settings, out, store, neo4j_uri)


def load_round_and_settings(round_file: Path) -> tuple[RoundSpec, RoundSettings]:
    """round.toml parsed and its settings checked, before anything is written."""
    spec = load_round(round_file)
    return spec, RoundSettings.of_round(spec)


def run_loaded_round(spec: RoundSpec, settings: RoundSettings, out: Path, store: Path | None,
                     neo4j_uri: str | None) -> RoundSummary:
    """Open the stores and run the round."""
    store_settings = StoreSettings.from_env(embedded_path=store or out / EMBEDDED_STORE, neo4j_uri=neo4j_uri,
                                            embedded_compress_strings=settings.resources.compress_strings,
                                            embedded_memory_limit=settings.resources.store_limit)
    with open_stores(store_settings) as stores:
        return run_round(spec, out, settings, stores, progress=ConsoleProgress())


@contextmanager
def open_stores(settings: StoreSettings) -> Iterator[list[GraphStore]]:
    """The embedded store always; Neo4j too when a Bolt URI is set (last: the system of record). Neo4j is opened
    first, with a short wait for its first connection: a server that is not there fails the round in seconds,
    before any work and before the embedded store's file is made."""
    first = settings.connect_seconds if settings.connect_seconds is not None else \
        min(FIRST_CONNECT_SECONDS, settings.retry_seconds)
    stores = [open_store(dataclasses.replace(settings, connect_seconds=first))] if settings.uses_neo4j else []
    try:
        stores.insert(0, open_store(dataclasses.replace(settings, neo4j_uri=None)))
        yield stores
    finally:
        for store in stores:
            store.close()


def print_summary(summary: RoundSummary) -> None:
    """The end-of-round table an operator reads."""
    out = sys.stdout
    where = summary.out_dir.resolve()
    if summary.already_finished:
        out.write(f"\nround {summary.round_id} already finished at {where}; nothing to do (delete {where} or use a "
                  "new --out to run it again)\n")
    else:
        resumed = f" (resumed at {summary.resumed_from})" if summary.resumed_from else ""
        out.write(f"\nround {summary.round_id} finished in {summary.seconds:.1f}s{resumed}\n")
    out.write(f"{'stage':<12}{'seconds':>9}  figures\n")
    for stage, stats in summary.stages.items():
        figures = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in stats.items()
                            if k != "seconds" and isinstance(v, (int, float, str)))
        out.write(f"{stage:<12}{stats.get('seconds', 0):>9.1f}  {figures}\n")
    out.write(f"\noutputs: {where}\n")
    report = summary.out_dir / "report.html"
    if report.exists():
        out.write(f"report:  {report.resolve()}\n")
    log_file = summary.out_dir / logs.LOG_FILE
    if log_file.exists():
        out.write(f"log:     {log_file.resolve()}\n")
