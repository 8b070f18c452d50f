"""`silentcert demo`: generate a small synthetic county and run a round on it, on the embedded default."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

from silentcert.clients import logs
from silentcert.clients.rounds import print_summary, run_round_files
from silentcert.synthetic import generate

DEMO_MARKER = "demo.json"  # the county the demo generated in its directory


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="generate a small synthetic county and run a round on it")
    demo.add_argument("--dir", type=Path, default=Path("silentcert-demo"),
                      help="where to write (default ./silentcert-demo); run again, it reuses the county it generated")
    demo.add_argument("--pensioners", type=int, default=5000)
    demo.add_argument("--seed", type=int, default=2021)
    demo.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2021, 10, 31))
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    round_dir, out = args.dir / "round", args.dir / "out"
    county = {"pensioners": args.pensioners, "seed": args.seed, "as_of": args.as_of.isoformat()}
    marker = args.dir / DEMO_MARKER
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == county:
        print(f"the county of {args.pensioners:,} pensioners is already generated in {round_dir.resolve()}")
    else:
        if marker.is_file():  # another county in a directory the demo made: its round is out of date
            shutil.rmtree(out, ignore_errors=True)
        generate(pensioners=args.pensioners, seed=args.seed, as_of=args.as_of, out=round_dir)
        marker.write_text(json.dumps(county), encoding="utf-8")
        print(f"generated a county of {args.pensioners:,} pensioners in {round_dir.resolve()}")
    logs.log_to_file(out)
    summary = run_round_files(round_dir / "round.toml", out, store=None, neo4j_uri=None)
    print_summary(summary)
    return 0
