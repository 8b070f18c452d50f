"""How each of the sixteen sources exports its records: file, encoding, column names, formats.

``columns`` lists (field, file column) in file order. Canonical fields are the contract's names;
``x:`` fields are source-specific extras that the loader keeps but does not need.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str                         # strong | weak | death | face | in_person
    folder: str
    columns: tuple[tuple[str, str], ...]
    date_style: str                   # see synthetic.dates.STYLES
    fmt: str = "csv"                  # csv | parquet
    encoding: str = "utf-8"           # utf-8 | gb18030
    sex_style: str = "MF"             # MF | zh | 12
    birth_style: str = "iso"
    id_missing: float = 0.01          # share of rows with no ID number
    name_variants: float = 0.03       # share of rows with a homophone or traditional name
    name_romanised: float = 0.0       # share of rows with the name in pinyin (tickets, bank systems)
    name_missing: float = 0.005       # share of rows with the name left empty
    native_time: bool = False         # parquet: occurred_at as a timestamp column
    layout: str = "csv"               # how a csv-format source is stored: csv | csv.gz | xlsx (synthetic.shapes)

    @property
    def file(self) -> str:
        return f"{self.folder}/{self.name}.{'parquet' if self.fmt == 'parquet' else self.layout}"

    @property
    def newline(self) -> str:
        return "\r\n" if self.encoding == "gb18030" else "\n"

    def has(self, field: str) -> bool:
        return any(f == field for f, _ in self.columns)

    def renames(self) -> dict[str, str]:
        """canonical -> file column, for canonical fields whose file name differs."""
        return {f: c for f, c in self.columns if not f.startswith("x:") and f != c}


SPECS = (
    SourceSpec("vaccination", "strong", "evidence", (
        ("record_id", "jzjlbh"), ("id_number", "sfzhm"), ("name", "xm"), ("sex", "xb"), ("birth_date", "csrq"),
        ("x:vaccine", "ymmc"), ("occurred_at", "jzrq"), ("x:site", "jzdd")),
        date_style="iso", encoding="gb18030", sex_style="zh"),
    SourceSpec("health_code", "strong", "evidence", (
        ("record_id", "scan_id"), ("id_number", "id_card"), ("name", "name"), ("phone", "sjhm"),
        ("occurred_at", "scan_time"), ("x:place", "place_code")),
        date_style="iso_time", fmt="parquet", native_time=True, id_missing=0.0),
    SourceSpec("inpatient", "strong", "evidence", (
        ("record_id", "zyh"), ("id_number", "gmsfhm"), ("name", "hzxm"), ("sex", "xb"), ("birth_date", "csrq"),
        ("county_code", "cbdq"), ("occurred_at", "ryrq"), ("x:discharge", "cyrq"), ("x:hospital", "yymc")),
        date_style="compact", birth_style="compact", encoding="gb18030", sex_style="12", id_missing=0.03),
    SourceSpec("bus_card_check", "strong", "evidence", (
        ("record_id", "record_id"), ("card_no", "kh"), ("id_number", "zjhm"), ("name", "name"),
        ("occurred_at", "nsrq"), ("x:station", "nsdd")),
        date_style="slash", id_missing=0.05),
    SourceSpec("ministry_travel", "strong", "evidence", (
        ("record_id", "ticket_no"), ("id_number", "id_no"), ("name", "passenger_name"), ("occurred_at", "dep_time"),
        ("x:train", "train_or_flight")),
        date_style="iso_t", id_missing=0.0, name_variants=0.01, name_romanised=0.2),
    SourceSpec("card_spending", "weak", "evidence", (
        ("record_id", "jylsh"), ("card_no", "sbkh"), ("occurred_at", "jyrq"), ("x:amount", "jyje"), ("x:merchant", "shmc")),
        date_style="compact"),
    SourceSpec("outpatient", "weak", "evidence", (
        ("record_id", "mzh"), ("id_number", "sfzh"), ("name", "xm"), ("sex", "xb"), ("birth_date", "csrq"),
        ("county_code", "xzqh"), ("occurred_at", "jzrq"), ("x:dept", "ksmc")),
        date_style="iso", encoding="gb18030", sex_style="zh", id_missing=0.30, name_variants=0.05),
    SourceSpec("telecom", "weak", "evidence", (
        ("record_id", "cdr_id"), ("phone", "msisdn"), ("occurred_at", "active_date"), ("x:event", "event_type")),
        date_style="compact"),
    SourceSpec("bus_rides", "weak", "evidence", (
        ("record_id", "ride_id"), ("card_no", "card_id"), ("occurred_at", "ride_time"), ("x:line", "line_no")),
        date_style="slash_time", fmt="parquet"),
    SourceSpec("bank_counter", "weak", "evidence", (
        ("record_id", "ywlsh"), ("id_number", "zjhm"), ("name", "khxm"), ("phone", "lxdh"),
        ("occurred_at", "ywrq"), ("x:business", "ywlx")),
        date_style="iso", encoding="gb18030", id_missing=0.04, name_romanised=0.02),
    SourceSpec("police", "death", "deaths", (
        ("record_id", "zxbh"), ("id_number", "gmsfhm"), ("name", "xm"), ("sex", "xb"), ("county_code", "hjdq"),
        ("occurred_at", "swrq"), ("x:reason", "zxyy")),
        date_style="compact", sex_style="zh", id_missing=0.01),
    SourceSpec("civil_affairs", "death", "deaths", (
        ("record_id", "hhbh"), ("id_number", "sfzh"), ("name", "xm"), ("occurred_at", "swsj"), ("x:funeral_home", "byg")),
        date_style="iso", encoding="gb18030", id_missing=0.08),
    SourceSpec("health", "death", "deaths", (
        ("record_id", "certificate_no"), ("id_number", "id_number"), ("name", "name"), ("sex", "sex"),
        ("birth_date", "birth_date"), ("county_code", "county_code"), ("occurred_at", "death_time"), ("x:cause", "icd10")),
        date_style="iso_time", id_missing=0.30),
    SourceSpec("village", "death", "deaths", (
        ("record_id", "bh"), ("name", "xm"), ("sex", "xb"), ("birth_date", "csny"), ("county_code", "xzqh"),
        ("id_number", "sfzh"), ("occurred_at", "swrq"), ("x:reporter", "sbr")),
        date_style="slash", birth_style="slash", encoding="gb18030", sex_style="zh", id_missing=0.85, name_variants=0.08),
    SourceSpec("face", "face", "channels", (
        ("record_id", "record_id"), ("person_id", "person_id"), ("id_number", "id_number"),
        ("occurred_at", "occurred_at"), ("passed", "passed"), ("x:similarity", "similarity"), ("x:device", "device")),
        date_style="iso_time", id_missing=0.0, name_variants=0.0),
    SourceSpec("in_person", "in_person", "channels", (
        ("record_id", "blbh"), ("person_id", "grbh"), ("id_number", "sfzh"), ("occurred_at", "blrq"), ("x:office", "bldd"), ("x:clerk", "jbr")),
        date_style="iso", encoding="gb18030", id_missing=0.0, name_variants=0.0),
)

BY_NAME = {s.name: s for s in SPECS}
