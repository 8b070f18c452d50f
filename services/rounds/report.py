"""The round report: `report.json` (the figures) and `report.html` (one self-contained page with SVG charts).

Everything is computed set-wise from the round working database; the page needs no network and no script. Its
words, Chinese and English, are in :mod:`services.rounds.report_text`; a new section adds a figure query here, its
labels there, and one line to ``render_html``.
"""

from __future__ import annotations

import html
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.services.rounds.county_names import county_name
from silentcert.services.rounds.payments import payment_totals
from silentcert.services.rounds.report_text import HTML_LANG, LANGUAGES, TEXT, VALUES
from silentcert.services.rounds.roundfile import RoundSpec

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
    figures = {name: [list(row) for row in sql.fetchall(con, f"report_{name}", query)]
               for name, query in FIGURES.items()}
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
        "overpayment_confirmed": round(sum(row[2] or 0 for row in figures["flags"]
                                           if row[0].startswith("confirmed_death /")), 2),
        "county_names": {row[0]: name for row in figures["counties"] if (name := county_name(row[0]))},
        "duplicates": duplicate_accounts(con),
        "weak_evidence": _weak_evidence(con),
        "payments": _payments(con),
        "lapse_forecast": _lapse_forecast(con, spec.as_of),
        "figures": figures,
    }


def duplicate_accounts(con: duckdb.DuckDBPyConnection) -> list[list[Any]]:
    """[registry, pairs, pairs both paid, money paid a second time] by where the other account is."""
    if not (sql.has_table(con, "duplicate_pairs") and sql.has_table(con, "flags")):
        return []
    return [list(row) for row in sql.fetchall(con, "report_duplicate_accounts", _DUPLICATE_ACCOUNTS)]


# a pair's flag id as deathcheck/duplicates.FLAG_ID_MACRO writes it (the report may read a store opened read-only)
_DUPLICATE_ACCOUNTS = """
SELECT coalesce(p.other_registry, 'this registry'), count(*), count(*) FILTER (WHERE f.overpayment > 0),
       round(coalesce(sum(f.overpayment), 0), 2)
FROM duplicate_pairs p
JOIN flags f ON f.flag_id = 'duplicate_account:' || p.person_id || ':' || coalesce(p.other_registry || '/', '')
                            || p.other_person_id
GROUP BY 1 ORDER BY 1
"""


_WEAK_EVIDENCE = "SELECT stats FROM stages WHERE stage = 'score'"


def _weak_evidence(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """What the score stage found of weak evidence: its calibrated threshold and whether any combination of weak
    sources can reach it this round (when relatives' use of the dead's card and phone reaches the model's ceiling,
    weak evidence certifies nobody, and an operator should see that on the page)."""
    if not sql.has_table(con, "stages"):
        return None
    rows = sql.run(con, "weak_evidence", _WEAK_EVIDENCE).fetchall()
    stats = json.loads(rows[0][0]) if rows else {}
    if "weak_can_certify" not in stats:
        return None
    return {"threshold_log_odds": stats["weak_threshold_log_odds"],
            "highest_log_odds": stats["weak_highest_log_odds"], "can_certify": stats["weak_can_certify"],
            "operating_points": stats.get("weak_operating_points", [])}


def _payments(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The money of payments.csv (services.rounds.payments.payment_totals); None before the table exists."""
    return payment_totals(con) if sql.has_table(con, "payments") else None


# The lapse forecast by band of probability: people, of them whose period ends within 60 / 120 days, reminders.
_LAPSE_BANDS = """
SELECT CASE WHEN f.lapse_probability >= 0.9 THEN '≥ 0.9' WHEN f.lapse_probability >= 0.5 THEN '0.5–0.9'
            WHEN f.lapse_probability >= 0.1 THEN '0.1–0.5' ELSE '< 0.1' END AS band,
       count(*), count(*) FILTER (WHERE f.certified_until <= r.as_of + 60),
       count(*) FILTER (WHERE f.certified_until <= r.as_of + 120), count(n.person_id),
       round(sum(f.lapse_probability), 1)
FROM forecast f CROSS JOIN (SELECT $as_of::DATE AS as_of) r
LEFT JOIN (SELECT person_id FROM notices WHERE kind = 'reminder') n USING (person_id)
GROUP BY band ORDER BY min(f.lapse_probability) DESC
"""


def _lapse_forecast(con: duckdb.DuckDBPyConnection, as_of: date) -> list[list[Any]] | None:
    """[band, people, ending within 60 days, within 120 days, reminded, expected lapses]; None without a forecast."""
    if not (sql.has_table(con, "forecast") and sql.has_table(con, "notices")):
        return None
    return [list(row) for row in sql.fetchall(con, "report_lapse_bands", _LAPSE_BANDS, {"as_of": as_of})]


def _lapse_table(bands: list[list[Any]] | None) -> str:
    if bands is None:
        return f"<p class=muted>{_t('not_computed')}</p>"
    return _table("lapse_forecast_header", bands)


def _payments_table(payments: dict[str, Any] | None) -> str:
    """Suspended, restored (arrears paid), stopped (overpayment to recover), and held after the round."""
    if payments is None:
        return f"<p class=muted>{_t('not_computed')}</p>"
    rows = [[label, payments[key]["people"], payments[key][unit], what]
            for key, unit, label, what in _PAYMENT_ROWS]
    return _table("payments_header", rows, translate_columns=(0, 3))


_PAYMENT_ROWS = (("suspended", "monthly_yuan", "suspended this round", "monthly pensions"),
                 ("restored", "arrears_yuan", "restored this round", "arrears paid"),
                 ("stopped", "overpayment_yuan", "stopped at death", "overpayment to recover"),
                 ("held", "monthly_yuan", "held after the round", "monthly pensions"))


_PREVIOUS = """
        SELECT count(*), count(*) FILTER (WHERE status = 'certified') FROM previous_periods
    """


def _previous(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = sql.run(con, "previous", _PREVIOUS).fetchall() if sql.has_table(con, "previous_periods") else [(0, 0)]
    total, certified = rows[0]
    return {"pensioners": total, "certified": certified,
            "certification_rate": round(certified / total, 6)} if total else None


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
# Both languages are in the page; two radio buttons (no script) show one. Every word comes from report_text.

FONT_STACK = ('system-ui,"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",'
              '"WenQuanYi Micro Hei",sans-serif')
STYLE = """
body{font-family:FONT_STACK;margin:2rem auto;max-width:1100px;color:#1d2733}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
.kpis{display:flex;gap:1rem;flex-wrap:wrap}.kpi{background:#f3f6fa;border-radius:8px;padding:.8rem 1.2rem}
.kpi b{display:block;font-size:1.5rem}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.muted{color:#667}.wide{grid-column:1/-1}
.note{font-size:.8rem;color:#556;max-width:60rem}
.counties{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.25rem .8rem;font-size:.8rem}
.county{display:flex;align-items:center;gap:.3rem;white-space:nowrap}
.county i{display:inline-block;height:.7rem;background:#2f6fb3}
.lang-switch{float:right;font-size:.9rem}.lang-switch label{cursor:pointer;padding:0 .3rem;text-decoration:underline}
input.lang{display:none}
#lang-zh:checked~main .en,#lang-en:checked~main .zh{display:none}
""".replace("FONT_STACK", FONT_STACK)
PALETTE = ("#2f6fb3", "#e07b39", "#3a9d5d", "#c94a4a", "#8a63b8", "#6b7a8f", "#d4a72c", "#2aa3a3")


def render_html(report: dict[str, Any], lang: str = "zh") -> str:
    """The page, both languages in it, `lang` ("zh" or "en") shown first."""
    if lang not in LANGUAGES:
        raise ValueError(f"report language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    f = report["figures"]
    names = report.get("county_names", {})
    notes = {"channels": _t("carried_note"), "counties": _t("counties_note"), "link_rate": _t("link_rate_note"),
             "payments": _t("payments_note"), "duplicates": _t("duplicates_note"),
             "lapse_forecast": _t("lapse_forecast_note")}
    sections = [
        ("channels", _bars(f["channels"], share=True)),
        ("silent_sources", _bars(f["silent_sources"], share=True)),
        ("status", _bars(f["status"], share=True)),
        ("period_states", _bars(f["period_states"])),
        ("counties", _county_grid(f["counties"], names)),
        ("notices", _bars(f["notices"])),
        ("payments", _payments_table(report.get("payments"))),
        ("lapse_forecast", _lapse_table(report.get("lapse_forecast"))),
        ("flags", _table("flags_header", f["flags"], translate_columns=(0,))),
        ("link_rate", _table("link_rate_header", f["link_rate"])),
        ("probability_histogram", _bars(f["probability_histogram"])),
        ("rejects", _table("rejects_header", f["rejects"])),
        ("duplicates", _table("duplicates_header", report.get("duplicates") or [], translate_columns=(0,))),
    ]
    body = "".join(f"<section{' class=wide' if key == 'counties' else ''}><h2>{_t(key)}</h2>{content}"
                   + (f"<p class=note>{notes[key]}</p>" if key in notes else "") + "</section>"
                   for key, content in sections)
    body += weak_operating_section(report.get("weak_evidence"))
    kpi_html = "".join(f"<div class=kpi><span class=muted>{k}</span><b>{v}</b></div>" for k, v in _kpis(report))
    switch = "".join(f"<label for=lang-{code}>{html.escape(TEXT['language'][i])}</label>"
                     for i, code in enumerate(LANGUAGES))
    radios = "".join(f"<input type=radio name=lang class=lang id=lang-{code}{' checked' if code == lang else ''}>"
                     for code in LANGUAGES)
    ids = {"round_id": html.escape(report["round_id"])}
    return (f"<!doctype html><html lang={HTML_LANG[lang]}><meta charset=utf-8>"
            f"<title>{_plain('page_title', lang, **ids)}</title><style>{STYLE}</style>{radios}<main>"
            f"<nav class=lang-switch>{switch}</nav><h1>{_t('heading', **ids)}</h1>"
            f"<p class=muted>{_t('as_of', as_of=report['as_of'])}</p><div class=kpis>{kpi_html}</div>"
            f"<p class=note>{_t('overpayment_note', confirmed=_money(report.get('overpayment_confirmed', 0.0)))}</p>"
            + (f"<p class=note>{_t('weak_note')}</p>" if report.get("weak_evidence") else "")
            + f"<div class=grid>{body}</div></main></html>")


def _kpis(report: dict[str, Any]) -> list[tuple[str, str]]:
    rate, previous = report["certification_rate"], report["previous"]
    change = (_t("change_points", points=(rate - previous["certification_rate"]) * 100)
              if previous and rate is not None else _t("no_previous"))
    kpis = [(_t("pensioners"), f"{report['pensioners']:,}"), (_t("certified"), f"{report['certified']:,}"),
            (_t("certification_rate"), f"{rate * 100:.2f}%" if rate is not None else "–"), (_t("change"), change),
            (_t("overpayment_flags"), f"¥{_money(report['overpayment_total'])}"),
            (_t("overpayment_confirmed"), f"¥{_money(report.get('overpayment_confirmed', 0.0))}")]
    weak = report.get("weak_evidence")
    if weak:
        kpis.append((_t("weak_evidence", threshold=weak["threshold_log_odds"], ceiling=weak["highest_log_odds"]),
                     _t("weak_can_certify" if weak["can_certify"] else "weak_certifies_nobody")))
    return kpis


def _t(key: str, **fields: Any) -> str:
    """Both languages of a label, as spans the language switch shows one of (fields already HTML-safe)."""
    return _both(*(text.format(**fields) for text in TEXT[key]))


def _plain(key: str, lang: str, **fields: Any) -> str:
    return TEXT[key][LANGUAGES.index(lang)].format(**fields)


def _both(zh: str, en: str, tag: str = "span") -> str:
    return f"<{tag} class=zh lang=zh-CN>{zh}</{tag}><{tag} class=en lang=en>{en}</{tag}>"


def _value(value: Any, tag: str = "span") -> str:
    """A data value in both languages when its words are known ("exempt / sms" → "免认证 / 短信"), else as it is."""
    text = str(value)
    if not any(word in VALUES for part in text.split(" / ") for word in part.split("+")):
        return html.escape(text)
    zh, en = (html.escape(_words(text, i)) for i in range(len(LANGUAGES)))
    return _both(zh, en, tag=tag)


def _words(text: str, language: int) -> str:
    return " / ".join("+".join(VALUES[word][language] if word in VALUES else word for word in part.split("+"))
                      for part in text.split(" / "))


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _bars(rows: list[list[Any]], share: bool = False, percent: bool = False) -> str:
    if not rows:
        return f"<p class=muted>{_t('none')}</p>"
    total = sum(r[1] for r in rows) or 1
    peak = max(r[1] for r in rows) or 1
    height, width, label_w = 22, 520, 170
    parts = []
    for i, (label, value, *_) in enumerate(rows):
        w = (width - label_w - 90) * value / peak
        text = f"{value * 100:.1f}%" if percent else (f"{value:,} ({value / total * 100:.1f}%)" if share
                                                       else f"{value:,}")
        y = i * height
        shown = _value(str(label)[:28], tag="tspan")
        parts.append(
            f"<text x=0 y={y + 15} font-size=12>{shown}</text>"
            f"<rect x={label_w} y={y + 3} width={w:.1f} height={height - 6} fill={PALETTE[i % len(PALETTE)]} rx=2>"
            f"<title>{html.escape(str(label))}: {text}</title></rect>"
            f"<text x={label_w + w + 4:.1f} y={y + 15} font-size=11>{text}</text>")
    return f"<svg width={width} height={len(rows) * height} role=img>{''.join(parts)}</svg>"


def _county_grid(rows: list[list[Any]], names: dict[str, str]) -> str:
    """Many counties: a compact grid of small bars, the low ones in warm colours so they stand out."""
    if not rows:
        return f"<p class=muted>{_t('none')}</p>"
    cells = []
    for county, certified, total in rows:
        rate = certified / total if total else 0.0
        colour = "#2f6fb3" if rate >= 0.95 else "#e07b39" if rate >= 0.9 else "#c94a4a"
        label = f"{html.escape(str(county))} {html.escape(names[county])}" if county in names else _value(county)
        tip = " / ".join(text.format(county=f"{county} {names.get(county, '')}".strip(), certified=f"{certified:,}",
                                     total=f"{total:,}") for text in TEXT["county_tip"])
        cells.append(f"<div class=county title='{html.escape(tip)}'><span>{label}</span>"
                     f"<i style='width:{rate * 60:.0f}px;background:{colour}'></i><span>{rate * 100:.1f}%</span></div>")
    return f"<div class=counties>{''.join(cells)}</div>"


def _table(header_key: str, rows: list[list[Any]], translate_columns: tuple[int, ...] = ()) -> str:
    """A table whose header is TEXT[header_key]; the cells of `translate_columns` are data words (VALUES)."""
    if not rows:
        return f"<p class=muted>{_t('none')}</p>"
    zh, en = (text.split("|") for text in TEXT[header_key])
    head = "".join(f"<th>{_both(html.escape(a), html.escape(b))}</th>" for a, b in zip(zh, en))
    body = "".join("<tr>" + "".join(f"<td>{_value(v) if i in translate_columns else html.escape(_fmt(v))}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def weak_operating_section(weak: dict[str, Any] | None) -> str:
    """One self-contained section: the weak threshold's operating points (calibration.operating_points) — per
    threshold, people without a death record certified versus labelled dead certified on their post-death records
    alone — with this round's row marked. Empty when the round has no such table."""
    points = (weak or {}).get("operating_points") or []
    if not points:
        return ""

    def share(part: int, whole: int, rate: float | None) -> str:
        return _t("of_whole", part=f"{part:,}", whole=f"{whole:,}") + (f" ({rate * 100:.2f}%)" if rate is not None else "")

    rows = []
    for p in points:
        mark = f" ← {_t('this_round')}" if p["this_round"] else ""
        rows.append(f"<tr{' style=font-weight:bold' if mark else ''}><td>{p['threshold_log_odds']:.3f}{mark}</td>"
                    f"<td>{share(p['living_certified'], p['living'], p['living_certified_share'])}</td>"
                    f"<td>{p['weak_only_certified']:,}</td>"
                    f"<td>{share(p['dead_certified_after_death'], p['labelled_dead'], p['dead_certified_share'])}"
                    f"</td></tr>")
    zh, en = (text.split("|") for text in TEXT["operating_points_header"])
    head = "<tr>" + "".join(f"<th>{_both(html.escape(a), html.escape(b))}</th>" for a, b in zip(zh, en)) + "</tr>"
    return (f"<section class=wide><h2>{_t('operating_points')}</h2><p class=muted>{_t('operating_points_note')}</p>"
            f"<table>{head}{''.join(rows)}</table></section>")
