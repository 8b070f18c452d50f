"""Backtest of the lapse forecast on a series of monthly rounds of one province (issue 19, item 4).

For each month m whose month m+2 was run too: of the people the forecast of month m covered (a valid period on
its as_of) who had lapsed by month m+2 (status ``uncertified`` there: the period ran out with no certification,
silent or not), the share the forecast ranked in its top 10% at month m. The people who died and were reported
(``deceased``) or wait for a reviewer (``review``) are not lapsers. Beside it, the same share for the order the
expiring window goes by (nearest period end first) and, among the people whose period ends by month m+2 (the only
ones who can lapse), the forecast's AUC (lapsers versus renewers) and its expected count against the actual one.

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

from silentcert.graph import sql
from silentcert.synthetic.evidence import WORLDS
from silentcert.synthetic.series import generate_series

TOP_SHARE = 0.10
LEAD_MONTHS = 2

# f: month m's forecast; later: month m+2's verdicts. "due": the period ends by m+2's as_of, so only these can
# lapse. The baseline ranks as the expiring window does (nearest end first). auc: among the due, the chance that a
# lapser is given a higher probability than someone who renewed (ties count half).
_MONTH = """
WITH f AS (
    SELECT person_id, priority::BIGINT AS priority, lapse_probability::DOUBLE AS p,
           certified_until::DATE AS until, count(*) OVER () AS people,
           row_number() OVER (ORDER BY certified_until::DATE, person_id) AS by_end
    FROM read_csv($forecast, all_varchar = true)),
j AS (
    SELECT f.*, coalesce(l.status = 'uncertified', false) AS lapsed, f.until <= $later_as_of AS due
    FROM f LEFT JOIN (SELECT person_id, status FROM read_csv($verdicts, all_varchar = true)) l USING (person_id)),
ranks AS (SELECT *, rank() OVER (PARTITION BY due ORDER BY p) AS r, count(*) OVER (PARTITION BY due, p) AS tie
          FROM j)
SELECT count(*) FILTER (WHERE lapsed) AS lapsed,
       count(*) FILTER (WHERE lapsed AND priority <= ceil($top * people)) AS caught,
       count(*) FILTER (WHERE lapsed AND by_end <= ceil($top * people)) AS baseline,
       any_value(people) AS people,
       count(*) FILTER (WHERE due) AS due,
       sum(p) FILTER (WHERE due) AS expected_due,
       count(*) FILTER (WHERE due AND lapsed) AS lapsed_due,
       (sum(r + (tie - 1) / 2.0) FILTER (WHERE due AND lapsed)
         - count(*) FILTER (WHERE due AND lapsed) * (count(*) FILTER (WHERE due AND lapsed) + 1) / 2.0)
         / nullif(count(*) FILTER (WHERE due AND lapsed) * count(*) FILTER (WHERE due AND NOT lapsed), 0) AS auc
FROM ranks
"""


def score_series(rounds: list[Path]) -> dict:
    """Per month m with a month m+2: lapsers, of them in the forecast's top share (and in the nearest-end
    baseline's), and among the people due by m+2 how well the forecast tells lapsers from renewers."""
    con = duckdb.connect()
    months = []
    for m, here in enumerate(rounds[:-LEAD_MONTHS]):
        later = rounds[m + LEAD_MONTHS]
        later_as_of = json.loads((later / "report.json").read_text(encoding="utf-8"))["as_of"]
        row = sql.one(con, "lapse_month", _MONTH,
                      {"forecast": str(here / "forecast.csv"), "verdicts": str(later / "verdicts.csv"),
                       "top": TOP_SHARE, "later_as_of": date.fromisoformat(later_as_of)})
        lapsed, caught, baseline, people, due, expected_due, lapsed_due, auc = row
        months.append({"month": here.name, "lapsed_by": later.name, "forecast": int(people or 0),
                       "lapsed": int(lapsed), "in_top_10pct": int(caught), "baseline_in_top_10pct": int(baseline),
                       "share": round(caught / lapsed, 4) if lapsed else None,
                       "due": int(due), "lapsed_of_due": int(lapsed_due),
                       "expected_of_due": round(float(expected_due or 0.0), 1),
                       "auc_among_due": round(float(auc), 4) if auc is not None else None})
    lapsed = sum(m["lapsed"] for m in months)
    caught = sum(m["in_top_10pct"] for m in months)
    baseline = sum(m["baseline_in_top_10pct"] for m in months)
    return {"months": months, "lapsed": lapsed, "in_top_10pct": caught,
            "share": round(caught / lapsed, 4) if lapsed else None,
            "baseline_share": round(baseline / lapsed, 4) if lapsed else None}


def run_series(args: argparse.Namespace) -> list[Path]:
    """Generate the series and run its rounds, oldest first, on one chained store; returns the output dirs."""
    work = Path(args.work)
    series = work / "series"
    generate_series(args.pensioners, args.months, args.seed, date.fromisoformat(args.as_of), series,
                    world=WORLDS[args.world])
    outs = []
    for round_dir in sorted(p for p in series.iterdir() if (p / "round.toml").is_file()):
        out = work / "out" / round_dir.name
        subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(round_dir / "round.toml"),
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
              f"of {m['forecast']:,} ({share}; nearest end first: {m['baseline_in_top_10pct']:,}); "
              f"due by then {m['due']:,}, lapsed {m['lapsed_of_due']:,}, forecast {m['expected_of_due']:,}, "
              f"AUC among them {m['auc_among_due']}")
    print(json.dumps({"world": None if args.rounds else args.world, "share": result["share"],
                      "baseline_share": result["baseline_share"], "lapsed": result["lapsed"],
                      "in_top_10pct": result["in_top_10pct"], "top_share": TOP_SHARE, "lead_months": LEAD_MONTHS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
