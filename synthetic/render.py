"""Turn drawn records into a source's table: identifiers from the population, formatting noise,
malformed rows, and the truth row for every record."""

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import dates, names, noise, phones
from silentcert.synthetic.events import Draws
from silentcert.synthetic.population import People
from silentcert.synthetic.sources import SourceSpec

GARBLED = ("id_number", "name", "sex", "birth_date", "phone", "card_no", "county_code", "person_id")
EXTRAS = {
    "x:vaccine": ["新冠病毒灭活疫苗", "流感疫苗", "23价肺炎球菌多糖疫苗", "带状疱疹疫苗"],
    "x:site": ["社区卫生服务中心", "乡镇卫生院", "县疾控中心接种门诊"],
    "x:place": ["JX0791A", "JX0797B", "JX0793C", "JX0796D", "JX0798E"],
    "x:hospital": ["江西省人民医院", "南昌大学第一附属医院", "赣州市人民医院", "县人民医院", "县中医院"],
    "x:station": ["公交集团服务网点", "社区服务站", "乡镇便民服务中心"],
    "x:train": ["G1373", "D2207", "K1571", "MU5212", "CZ3916", "Z133"],
    "x:merchant": ["华润万家", "永辉超市", "社区药店", "农贸市场", "国药大药房"],
    "x:dept": ["内科", "心血管内科", "眼科", "中医科", "骨科"],
    "x:event": ["voice", "sms", "data", "voice"],
    "x:line": ["1", "12", "203", "K8", "乡村1号线"],
    "x:business": ["养老金取款", "存款", "查询", "密码重置", "代发工资"],
    "x:reason": ["死亡"],
    "x:funeral_home": ["南昌市殡仪馆", "赣州市殡仪馆", "县殡仪馆", "上饶市殡仪馆"],
    "x:cause": ["I21.9", "I63.9", "C34.9", "J44.1", "I50.9", "R54"],
    "x:reporter": ["村委会", "居委会", "村民小组长"],
    "x:device": ["android", "ios", "wechat-mini"],
    "x:office": ["县社保局服务大厅", "乡镇社保所", "社区养老服务站", "上门认证"],
    "x:clerk": ["JB001", "JB017", "JB102", "JB233"],
}


def render(rng: np.random.Generator, spec: SourceSpec, draws: Draws, people: People,
           person_ids: pa.Array) -> tuple[pa.Table, pa.Table]:
    """The source's file table and its truth table (one truth row per file row, same order)."""
    order = np.lexsort((rng.random(len(draws)), draws.moment))
    person, moment = draws.person[order], draws.moment[order]
    tags = {k: v[order] for k, v in draws.tags.items()}
    bad = noise.malformed_kinds(rng, len(person), spec.has("id_number"), spec.native_time)
    junk = bad == noise.MALFORMED_KINDS.index("garbage")
    ctx = _Context(rng, spec, people, person_ids, pa.array(person), moment, tags, bad)
    columns: dict[str, Any] = {}
    labels: list[tuple[str, Any]] = []
    for field, name in spec.columns:
        col, marks = ctx.field(field)
        if field in GARBLED:
            col = noise.patch(col, junk, lambda c, f=field: noise.garbage(rng, len(c), f))
        columns[name] = col
        labels.extend(marks.items())
    table = pa.table(columns)
    truth_person = pc.if_else(pa.array(junk), pa.nulls(len(person), pa.string()),
                              person_ids.take(pa.array(np.maximum(person, 0))))
    truth = pa.table({
        "source": pa.array([spec.name] * len(person), pa.string()),
        "record_id": columns[dict(spec.columns)["record_id"]],
        "row": pa.array(np.arange(1, len(person) + 1)),
        "person_id": truth_person,
        "person_index": pa.array(np.where(junk, -1, person)),
        "occurred_at": dates.render(moment, "iso_time"),
        "malformed": pa.array((bad >= 0).astype(np.int8)),
        "malformed_kind": pa.array(np.asarray(noise.MALFORMED_KINDS + ("",))[bad]),
        **{t: pa.array(v.astype(np.int8)) for t, v in tags.items()},
        "noise": _noise_labels(labels, len(person)),
    })
    return table, truth


def _noise_labels(labels: list[tuple[str, np.ndarray]], n: int) -> pa.Array:
    if not labels:
        return pa.array([""] * n, pa.string())
    # labels end in ";" and are joined with "", then the last ";" trimmed (skip-null joins
    # over many all-null inputs return a short array in pyarrow 26)
    cols = [pc.if_else(pa.array(mask), pa.scalar(label + ";"), pa.scalar("")) for label, mask in labels]
    return pc.utf8_rtrim(pc.binary_join_element_wise(*cols, ""), characters=";")


class _Context:
    """Builds one column at a time for the rows of one source."""

    def __init__(self, rng, spec, people, person_ids, person, moment, tags, bad):
        self.rng, self.spec, self.people, self.person_ids = rng, spec, people, person_ids
        self.person, self.moment, self.tags, self.bad = person, moment, tags, bad
        self.n = len(person)

    def kind(self, name: str) -> np.ndarray:
        return self.bad == noise.MALFORMED_KINDS.index(name)

    def field(self, field: str) -> tuple[pa.Array, dict[str, np.ndarray]]:
        if field.startswith("x:"):
            return self.extra(field), {}
        return getattr(self, field)()

    def record_id(self):
        steps = self.rng.integers(1, 4, self.n).cumsum() + self.rng.integers(10**6, 10**7)
        prefix = self.spec.name[:2].upper() if self.spec.fmt == "csv" else ""
        ids = pc.binary_join_element_wise(prefix, pc.utf8_lpad(pc.cast(pa.array(steps), pa.string()), 10, padding="0"), "")
        dup = np.flatnonzero(self.kind("duplicate_record_id"))
        where = np.arange(self.n)
        where[dup] = dup - 1
        return ids.take(pa.array(where)), {}

    def occurred_at(self):
        if self.spec.native_time:
            col = pa.array(self.moment)
        else:
            col = dates.render(self.moment, self.spec.date_style)
            col = noise.patch(col, self.kind("impossible_date"),
                              lambda c: dates.impossible(self.moment[self.kind("impossible_date")], self.spec.date_style))
            col = noise.patch(col, self.kind("garbage"), lambda c: noise.garbage(self.rng, len(c), "occurred_at"))
        empty = self.kind("empty_occurred_at")
        return pc.if_else(pa.array(empty), pa.nulls(self.n, col.type), col), {}

    def id_number(self):
        col, marks = noise.messy_ids(self.rng, self.people.id18.take(self.person))
        col = noise.patch(col, self.kind("bad_check_digit") & ~marks["id_fullwidth"] & ~marks["id_spaces"]
                          & ~marks["id_padded"], noise.bad_check)
        missing = (self.rng.random(self.n) < self.spec.id_missing) & (self.bad < 0)
        return pc.if_else(pa.array(missing), pa.nulls(self.n, pa.string()), col), {**marks, "id_missing": missing}

    def name(self):
        u = self.rng.random(self.n)
        share, latin = self.spec.name_variants, self.spec.name_romanised
        homo, trad = u < share * 0.6, (u >= share * 0.6) & (u < share)
        spaced = (u >= share) & (u < share + 0.01)
        pinyin = (u >= share + 0.01) & (u < share + 0.01 + latin)
        missing = (u >= share + 0.01 + latin) & (u < share + 0.01 + latin + self.spec.name_missing) & (self.bad < 0)
        col = self.people.name.take(self.person)
        col = pc.if_else(pa.array(homo), self.people.name_homophone.take(self.person), col)
        col = pc.if_else(pa.array(trad), self.people.name_traditional.take(self.person), col)
        col = noise.patch(col, spaced, names.spaced)
        col = pc.if_else(pa.array(pinyin), self.people.name_romanised.take(self.person), col)
        col = pc.if_else(pa.array(missing), pa.nulls(self.n, pa.string()), col)
        who = self.person.to_numpy()
        style = self.people.romanised_style[who]
        marks = {"name_homophone": homo, "name_traditional": trad, "name_spaced": spaced, "name_pinyin": pinyin}
        for k, label in enumerate(names.ROMANISED_STYLES):
            marks[f"name_pinyin_{label}"] = pinyin & (style == k)
        marks["name_pinyin_umlaut"] = pinyin & self.people.romanised_umlaut[who]
        marks["name_missing"] = missing
        return col, marks

    def sex(self):
        labels = {"MF": ("M", "F"), "zh": ("男", "女"), "12": ("1", "2")}[self.spec.sex_style]
        male = pa.array(self.people.male[self.person.to_numpy()])
        return pc.if_else(male, labels[0], labels[1]), {}

    def birth_date(self):
        return dates.render(self.people.birth[self.person.to_numpy()], self.spec.birth_style), {}

    def phone(self):
        return phones.formatted(self.rng, self.people.phone.take(self.person), 0.4), {}

    def card_no(self):
        col, marks = noise.messy_cards(self.rng, self.people.card_no.take(self.person))
        return col, marks

    def county_code(self):
        return pc.cast(pa.array(self.people.county_code[self.person.to_numpy()]), pa.string()), {}

    def person_id(self):
        blank = self.rng.random(self.n) < (0.3 if self.spec.kind == "face" else 0.1)
        ids = self.person_ids.take(self.person)
        return pc.if_else(pa.array(blank), pa.nulls(self.n, pa.string()), ids), {"person_id_missing": blank}

    def passed(self):
        return pc.if_else(pa.array(self.tags["passed"]), "true", "false"), {}

    def extra(self, field: str) -> pa.Array:
        if field == "x:amount":
            cents = self.rng.lognormal(7.5, 1.0, self.n).astype(np.int64)
            return pc.cast(pa.array(cents / 100), pa.string())
        if field == "x:similarity":
            score = np.where(self.tags["passed"], self.rng.uniform(0.82, 0.99, self.n), self.rng.uniform(0.3, 0.8, self.n))
            return pc.cast(pa.array(np.round(score, 3)), pa.string())
        if field == "x:discharge":
            stay = self.rng.integers(1, 21, self.n).astype("timedelta64[D]")
            return dates.render(self.moment.astype("datetime64[D]") + stay, self.spec.date_style)
        vocab = EXTRAS[field]
        return pa.array(vocab, pa.string()).take(pa.array(self.rng.integers(0, len(vocab), self.n)))
