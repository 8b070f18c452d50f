"""The round report: `report.json` (the figures) and `report.html` (one self-contained page with SVG charts).

Everything is computed set-wise from the round working database; the page needs no network and no script.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from services.deathcheck.duplicates import flag_id_sql
from services.rounds.roundfile import RoundSpec

# name -> query; each returns rows of (label, value[, value...]) in display order
FIGURES: dict[str, str] = {
    "status": "SELECT status, count(*) FROM verdicts GROUP BY 1 ORDER BY 2 DESC, 1",
    "channels": """
        SELECT CASE WHEN method IN ('strong', 'weak') THEN 'silent ' || method ELSE method END, count(*)
        FROM verdicts WHERE status = 'certified' GROUP BY 1 ORDER BY 2 DESC, 1""",
    "silent_sources": """
        SELECT source, count(*) FROM verdicts
        WHERE status = 'certified' AND method IN ('strong', 'weak') GROUP BY 1 ORDER BY 2 DESC, 1""",
    "counties": """
        SELECT coalesce(r.county_code, 'unknown'), count(*) FILTER (WHERE v.status = 'certified'), count(*)
        FROM verdicts v JOIN registry r USING (person_id) GROUP BY 1 ORDER BY 1""",
    "period_states": "SELECT period_state, count(*) FROM verdicts GROUP BY 1 ORDER BY 2 DESC, 1",
    "notices": "SELECT kind || ' / ' || channel, count(*) FROM notices GROUP BY 1 ORDER BY 1",
    "flags": """
        SELECT kind || ' / ' || severity, count(*), round(sum(coalesce(overpayment, 0)), 2)
        FROM flags GROUP BY 1 ORDER BY 2 DESC, 1""",
    "link_rate": """
        SELECT c.source, count(l.rid) FILTER (WHERE l.band = 'auto'), count(l.rid) FILTER (WHERE l.band = 'review'),
               count(l.rid) FILTER (WHERE l.band = 'none'), any_value(c.rejected_rows), any_value(c.input_rows)
        FROM source_counts c LEFT JOIN links l ON l.source = c.source
        WHERE c.source <> 'registry' GROUP BY 1 ORDER BY 1""",
    "probability_histogram": """
        SELECT printf('%.1f–%.1f', b / 10.0, (b + 1) / 10.0), count(*)
        FROM (SELECT least(floor(match_probability * 10), 9)::INT AS b FROM links WHERE match_probability > 0)
        GROUP BY b ORDER BY b""",
    "rejects": """
        SELECT source || ': ' || regexp_replace(reason, '[^ ,:''()]*[0-9][^ ,:''()]*', '…', 'g'), count(*)
        FROM rejects GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25""",
}


def compute_report(con: duckdb.DuckDBPyConnection, spec: RoundSpec) -> dict[str, Any]:
    """The round's statistics as plain JSON-able data."""
    figures = {name: [list(row) for row in con.execute(query).fetchall()] for name, query in FIGURES.items()}
    total = sum(row[1] for row in figures["status"])
    certified = sum(row[1] for row in figures["status"] if row[0] == "certified")
    return {
        "round_id": spec.round_id,
        "as_of": spec.as_of.isoformat(),
        "pensioners": total,
        "certified": certified,
        "certification_rate": round(certified / total, 6) if total else None,
        "previous": _previous(con),
        # a duplicate pair's money is on both its flags and is not a death's overpayment: counted in "duplicates"
        "overpayment_total": round(sum(row[2] or 0 for row in figures["flags"]
                                       if not row[0].startswith("duplicate_account")), 2),
        "duplicates": duplicate_accounts(con),
        "weak_evidence": _weak_evidence(con),
        "figures": figures,
    }


def duplicate_accounts(con: duckdb.DuckDBPyConnection) -> list[list[Any]]:
    """[registry, pairs, pairs both paid, money paid a second time] by where the other account is."""
    if not (_has_table(con, "duplicate_pairs") and _has_table(con, "flags")):
        return []
    return [list(row) for row in con.execute(f"""
        SELECT coalesce(p.other_registry, 'this registry'), count(*), count(*) FILTER (WHERE f.overpayment > 0),
               round(coalesce(sum(f.overpayment), 0), 2)
        FROM duplicate_pairs p
        JOIN flags f ON f.flag_id = {flag_id_sql('p.person_id', 'p.other_registry', 'p.other_person_id')}
        GROUP BY 1 ORDER BY 1""").fetchall()]


def _weak_evidence(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """What the score stage found of weak evidence: its calibrated threshold and whether any combination of weak
    sources can reach it this round (when relatives' use of the dead's card and phone reaches the model's ceiling,
    weak evidence certifies nobody, and an operator should see that on the page)."""
    if not _has_table(con, "stages"):
        return None
    rows = con.execute("SELECT stats FROM stages WHERE stage = 'score'").fetchall()
    stats = json.loads(rows[0][0]) if rows else {}
    if "weak_can_certify" not in stats:
        return None
    return {"threshold_log_odds": stats["weak_threshold_log_odds"],
            "highest_log_odds": stats["weak_highest_log_odds"], "can_certify": stats["weak_can_certify"]}


def _previous(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE status = 'certified') FROM previous_periods
    """).fetchall() if _has_table(con, "previous_periods") else [(0, 0)]
    total, certified = rows[0]
    return {"pensioners": total, "certified": certified,
            "certification_rate": round(certified / total, 6)} if total else None


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall())


def write_report(con: duckdb.DuckDBPyConnection, spec: RoundSpec, out_dir: Path) -> dict[str, Any]:
    report = compute_report(con, spec)
    _write_atomic(out_dir / "report.json", json.dumps(report, ensure_ascii=False, indent=2, default=str))
    _write_atomic(out_dir / "report.html", render_html(report))
    return report


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---- the page ---------------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2rem auto;max-width:1100px;color:#1d2733}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
.kpis{display:flex;gap:1rem;flex-wrap:wrap}.kpi{background:#f3f6fa;border-radius:8px;padding:.8rem 1.2rem}
.kpi b{display:block;font-size:1.5rem}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.muted{color:#667}.wide{grid-column:1/-1}
.counties{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.25rem .8rem;font-size:.8rem}
.county{display:flex;align-items:center;gap:.3rem}.county i{display:inline-block;height:.7rem;background:#2f6fb3}
"""
PALETTE = ("#2f6fb3", "#e07b39", "#3a9d5d", "#c94a4a", "#8a63b8", "#6b7a8f", "#d4a72c", "#2aa3a3")


def render_html(report: dict[str, Any]) -> str:
    f = report["figures"]
    rate = report["certification_rate"]
    previous = report["previous"]
    change = (f"{(rate - previous['certification_rate']) * 100:+.2f} points vs previous round"
              if previous and rate is not None else "no previous round")
    kpis = [("pensioners", f"{report['pensioners']:,}"), ("certified", f"{report['certified']:,}"),
            ("certification rate", f"{rate * 100:.2f}%" if rate is not None else "–"), ("change", change),
            ("overpayment found", f"¥{report['overpayment_total']:,.2f}")]
    weak = report.get("weak_evidence")
    if weak:
        kpis.append((f"weak evidence (threshold {weak['threshold_log_odds']:.2f}, ceiling "
                     f"{weak['highest_log_odds']:.2f} log-odds)",
                     "can certify" if weak["can_certify"] else "certifies nobody"))
    sections = [
        ("Channel split of certified pensioners", _bars(f["channels"], share=True)),
        ("Silent certifications by source", _bars(f["silent_sources"], share=True)),
        ("Status", _bars(f["status"], share=True)),
        ("Period states", _bars(f["period_states"])),
        ("Certification rate by county", _county_grid(f["counties"])),
        ("Notices by kind and channel", _bars(f["notices"])),
        ("Flags by kind and severity", _table(["kind / severity", "flags", "overpayment ¥"], f["flags"])),
        ("Linkage per source", _table(["source", "linked", "review band", "unlinked", "rejected", "input rows"],
                                      f["link_rate"])),
        ("Link probability histogram", _bars(f["probability_histogram"])),
        ("Rejects by reason", _table(["source: reason", "rows"], f["rejects"])),
        ("Duplicate accounts", _table(["other account in", "pairs", "both paid", "paid twice ¥"],
                                      report.get("duplicates") or [])),
    ]
    body = "".join(f"<section{' class=wide' if t.endswith('county') else ''}><h2>{html.escape(t)}</h2>"
                   f"{content}</section>" for t, content in sections)
    kpi_html = "".join(f"<div class=kpi><span class=muted>{html.escape(k)}</span><b>{html.escape(v)}</b></div>"
                       for k, v in kpis)
    return (f"<!doctype html><html lang=zh-CN><meta charset=utf-8><title>silentcert round {html.escape(report['round_id'])}"
            f"</title><style>{STYLE}</style><h1>Round {html.escape(report['round_id'])} — silent certification</h1>"
            f"<p class=muted>as of {report['as_of']}</p><div class=kpis>{kpi_html}</div>"
            f"<div class=grid>{body}</div></html>")


def _bars(rows: list[list[Any]], share: bool = False, percent: bool = False) -> str:
    if not rows:
        return "<p class=muted>none</p>"
    total = sum(r[1] for r in rows) or 1
    peak = max(r[1] for r in rows) or 1
    height, width, label_w = 22, 520, 170
    parts = []
    for i, (label, value, *_) in enumerate(rows):
        w = (width - label_w - 90) * value / peak
        text = f"{value * 100:.1f}%" if percent else (f"{value:,} ({value / total * 100:.1f}%)" if share
                                                       else f"{value:,}")
        y = i * height
        parts.append(
            f"<text x=0 y={y + 15} font-size=12>{html.escape(str(label))[:28]}</text>"
            f"<rect x={label_w} y={y + 3} width={w:.1f} height={height - 6} fill={PALETTE[i % len(PALETTE)]} rx=2>"
            f"<title>{html.escape(str(label))}: {text}</title></rect>"
            f"<text x={label_w + w + 4:.1f} y={y + 15} font-size=11>{text}</text>")
    return f"<svg width={width} height={len(rows) * height} role=img>{''.join(parts)}</svg>"


def _county_grid(rows: list[list[Any]]) -> str:
    """Many counties: a compact grid of small bars, the low ones in warm colours so they stand out."""
    if not rows:
        return "<p class=muted>none</p>"
    cells = []
    for county, certified, total in rows:
        rate = certified / total if total else 0.0
        colour = "#2f6fb3" if rate >= 0.95 else "#e07b39" if rate >= 0.9 else "#c94a4a"
        cells.append(f"<div class=county title='{html.escape(str(county))}: {certified:,} of {total:,}'>"
                     f"<span>{html.escape(str(county))}</span><i style='width:{rate * 60:.0f}px;background:{colour}'>"
                     f"</i><span>{rate * 100:.1f}%</span></div>")
    return f"<div class=counties>{''.join(cells)}</div>"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class=muted>none</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
