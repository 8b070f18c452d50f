"""Telephone area codes by administrative division, to complete a landline written without one.

A landline is dialled within its prefecture without the area code (``6960515`` for
``0797-6960515``), and clerks copy it that way. A row that also carries a ``county_code`` (the
6-digit GB/T 2260 division code) says where the number is: the first four digits name the
prefecture-level city, and every county of a prefecture shares the prefecture's area code.

``PREFECTURE_AREA_CODES`` maps the 4-digit prefecture prefix to the area code. To cover another
province, add its prefectures (e.g. ``"4401": "020"`` for Guangzhou) — nothing else changes.

``RETIRED_PREFECTURES`` maps prefixes that no longer exist to the prefecture that took their
counties over, so counties coded under the old prefix (still common on ID numbers and old
records) get the area code of today's prefecture. Jiangxi's former prefectures (地区) became
prefecture-level cities with new codes: 赣州地区 3621 → 赣州市 3607 (1998), 宜春地区 3622 → 3609,
上饶地区 3623 → 3611, 吉安地区 3624 → 3608, 抚州地区 3625 → 3610 (all 2000), and 九江地区 3626
was merged into 九江市 3604 (1983). A division whose prefix is in neither table is unmapped: its
landlines keep their "no area code" reason.

Python (:func:`area_code_of`) and SQL (:func:`area_code_sql`) read the same table.
"""

from __future__ import annotations

from silentcert.services.resolver.widths import sql_string

PREFECTURE_AREA_CODES: dict[str, str] = {
    # Jiangxi 江西
    "3601": "0791",  # 南昌 Nanchang
    "3602": "0798",  # 景德镇 Jingdezhen
    "3603": "0799",  # 萍乡 Pingxiang
    "3604": "0792",  # 九江 Jiujiang
    "3605": "0790",  # 新余 Xinyu
    "3606": "0701",  # 鹰潭 Yingtan
    "3607": "0797",  # 赣州 Ganzhou
    "3608": "0796",  # 吉安 Ji'an
    "3609": "0795",  # 宜春 Yichun
    "3610": "0794",  # 抚州 Fuzhou
    "3611": "0793",  # 上饶 Shangrao
}

RETIRED_PREFECTURES: dict[str, str] = {
    "3621": "3607",  # 赣州地区 → 赣州市
    "3622": "3609",  # 宜春地区 → 宜春市
    "3623": "3611",  # 上饶地区 → 上饶市
    "3624": "3608",  # 吉安地区 → 吉安市
    "3625": "3610",  # 抚州地区 → 抚州市
    "3626": "3604",  # 九江地区 → 九江市
}

AREA_CODE_BY_PREFIX: dict[str, str] = {
    **PREFECTURE_AREA_CODES,
    **{old: PREFECTURE_AREA_CODES[new] for old, new in RETIRED_PREFECTURES.items()},
}


def area_code_of(county_code: str | None) -> str | None:
    """The area code of a 6-digit division code's prefecture, or ``None`` when unmapped."""
    if county_code is None or len(county_code) != 6 or not county_code.isascii() or not county_code.isdigit():
        return None
    return AREA_CODE_BY_PREFIX.get(county_code[:4])


def area_code_sql(county_expr: str) -> str:
    """SQL twin of :func:`area_code_of` over a VARCHAR expression: the area code or NULL."""
    cases = " ".join(f"WHEN {sql_string(p)} THEN {sql_string(a)}" for p, a in sorted(AREA_CODE_BY_PREFIX.items()))
    return (f"CASE WHEN regexp_full_match({county_expr}, '[0-9]{{6}}') "
            f"THEN (CASE substr({county_expr}, 1, 4) {cases} END) END")
