"""Backtest of the lapse forecast on a series of monthly rounds of one province (issue 19, item 4).

For each month m whose month m+2 was run too: of the people the forecast of month m covered (a valid period on
its as_of) who had lapsed by month m+2 (status ``uncertified`` there: the period ran out with no certification,
silent or not), the share the forecast ranked in its top 10% at month m. The people who died and were reported
(``deceased``) or wait for a reviewer (``review``) are not lapsers.

    python benchmarks/lapse_backtest.py --world light --pensioners 20000 --months 8 --work WORK
    python benchmarks/lapse_backtest.py --rounds WORK/out          # score rounds already run

The first form generates the series (synthetic.series), runs its rounds in order on one chained embedded store
(WORK/state/graph.duckdb) and scores them; the second only reads ``forecast.csv`` and ``verdicts.csv`` of every
round directory under the given one (named YYYY-MM, in that order). Prints one line per month and the pooled share
as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from synthetic.series import generate_series
from synthetic.evidence import WORLDS

TOP_SHARE = 0.10
LEAD_MONTHS = 2

_MONTH = """
WITH f AS (SELECT person_id, priority, count(*) OVER () AS people FROM read_csv($forecast, all_varchar = true)),
later AS (SELECT person_id, status FROM read_csv($verdicts, all_varchar = true))
SELECT count(*) FILTER (WHERE l.status = 'uncertified') AS lapsed,
       count(*) FILTER (WHERE l.status = 'uncertified' AND f.priority::BIGINT <= ceil($top * f.people)) AS caught,
       any_value(f.people) AS people
FROM f LEFT JOIN later l USING (person_id)
"""


def score_series(rounds: list[Path]) -> dict:
    """Per month m with a month m+2: lapsers, of them in the top share, and the pooled share."""
    con = duckdb.connect()
    months = []
    for m, here in enumerate(rounds[:-LEAD_MONTHS]):
        later = rounds[m + LEAD_MONTHS]
        lapsed, caught, people = con.execute(_MONTH, {"forecast": str(here / "forecast.csv"),
                                                      "verdicts": str(later / "verdicts.csv"),
                                                      "top": TOP_SHARE}).fetchone()
        months.append({"month": here.name, "lapsed_by": later.name, "forecast": int(people or 0),
                       "lapsed": int(lapsed), "in_top_10pct": int(caught),
                       "share": round(caught / lapsed, 4) if lapsed else None})
    lapsed = sum(m["lapsed"] for m in months)
    caught = sum(m["in_top_10pct"] for m in months)
    return {"months": months, "lapsed": lapsed, "in_top_10pct": caught,
            "share": round(caught / lapsed, 4) if lapsed else None}


def run_series(args: argparse.Namespace) -> list[Path]:
    """Generate the series and run its rounds, oldest first, on one chained store; returns the output dirs."""
    work = Path(args.work)
    series = work / "series"
    generate_series(args.pensioners, args.months, args.seed, date.fromisoformat(args.as_of), series,
                    world=WORLDS[args.world])
    outs = []
    for round_dir in sorted(p for p in series.iterdir() if (p / "round.toml").is_file()):
        out = work / "out" / round_dir.name
        subprocess.run([sys.executable, "-m", "clients.cli", "round", "run", str(round_dir / "round.toml"),
                        "--out", str(out), "--store", str(work / "state" / "graph.duckdb")],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"ran {round_dir.name}", file=sys.stderr)
        outs.append(out)
    return outs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=Path, help="score the round outputs under this directory (YYYY-MM)")
    parser.add_argument("--world", choices=sorted(WORLDS), default="light")
    parser.add_argument("--pensioners", type=int, default=20000)
    parser.add_argument("--months", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--as-of", default="2021-01-31", help="the first round's as_of")
    parser.add_argument("--work", type=Path, help="where the series, its outputs and its store go")
    args = parser.parse_args(argv)
    if args.rounds is None and args.work is None:
        parser.error("give --rounds (score rounds already run) or --work (generate and run a series)")
    if args.rounds is not None:
        rounds = sorted(p for p in args.rounds.iterdir() if (p / "forecast.csv").is_file())
    else:
        rounds = run_series(args)
    if len(rounds) <= LEAD_MONTHS:
        parser.error(f"the backtest needs more than {LEAD_MONTHS} rounds, found {len(rounds)}")
    result = score_series(rounds)
    for m in result["months"]:
        share = "–" if m["share"] is None else f"{m['share'] * 100:.1f}%"
        print(f"{m['month']} → {m['lapsed_by']}: {m['in_top_10pct']:,} of {m['lapsed']:,} lapsers in the top 10% "
              f"of {m['forecast']:,} ({share})")
    print(json.dumps({"world": None if args.rounds else args.world, "share": result["share"],
                      "lapsed": result["lapsed"], "in_top_10pct": result["in_top_10pct"],
                      "top_share": TOP_SHARE, "lead_months": LEAD_MONTHS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
