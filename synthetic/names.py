"""Chinese names drawn from Zipf-like frequency tables, and the variants sources write them with.

Surnames are ranked roughly as they occur in Jiangxi; given-name characters are the common
ones of people born 1920-1970, separately for men and women. Variants are computed once per
distinct name (a loop over distinct names, never over rows).
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import lazy_pinyin

SURNAMES = (
    "刘李王张陈黄胡吴罗杨邓徐曾周彭肖熊朱万钟余郭廖邹赖谢何叶汪程涂饶龚付江魏傅蔡舒邱"
    "聂宋梁欧许孙袁冯戴姚雷吕艾卢简晏章易钱詹游兰缪温范严金毛丁潘方林郑高谭盛帅"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官")

MALE_GIVEN = (
    "明华国建军文平志伟东海强林金生荣福根长德水发清春兴庆云光高成永红宝新有祥龙山"
    "忠良辉财开贵友才喜仁义礼胜全先家茂松元正和安远保斌勇洪桂亮俊木火土"
)
FEMALE_GIVEN = (
    "英华秀兰珍芳玉梅凤桂莲娟红琴美萍淑翠霞花香菊云群素金秋月春冬小爱丽敏静燕"
    "清娥妹娇仙彩环银艳霞琼惠慧嫦妮凤贞荷菊招满"
)

# Same toneless pinyin, different character: the way clerks mistype names.
HOMOPHONES: dict[str, str] = {
    "明": "名鸣", "华": "花化", "英": "瑛莺", "兰": "岚蓝", "芳": "方", "红": "洪宏", "军": "君",
    "国": "果", "秀": "绣", "珍": "贞", "玉": "钰", "梅": "玫", "凤": "风", "桂": "贵", "莲": "连",
    "伟": "玮炜", "平": "萍", "林": "琳霖", "金": "今", "生": "升", "荣": "容", "福": "富",
    "春": "椿", "兴": "星", "文": "雯", "志": "智", "东": "冬", "海": "凯", "清": "青", "云": "芸",
    "霞": "侠", "琴": "勤", "萍": "平", "娟": "鹃", "燕": "艳", "丽": "莉", "敏": "闵", "祥": "翔",
    "张": "章", "王": "汪", "李": "黎", "刘": "柳", "徐": "许", "杨": "阳", "吴": "伍", "程": "成",
    "钟": "仲", "肖": "萧", "付": "傅", "万": "宛", "邹": "周", "彭": "蓬", "胡": "扈",
}

TRADITIONAL = str.maketrans(
    "华国东兰凤莲红发庆荣伟军兴长龙刘陈张杨黄赵吴郑罗孙邓冯叶钟贵云宝义礼胜财开亲龚饶谢"
    "邹赖熊许聂宋梁欧袁戴姚吕卢简詹游缪严谭帅艳爱丽娇环银惠凤顺",
    "華國東蘭鳳蓮紅發慶榮偉軍興長龍劉陳張楊黃趙吳鄭羅孫鄧馮葉鍾貴雲寶義禮勝財開親龔饒謝"
    "鄒賴熊許聶宋梁歐袁戴姚呂盧簡詹遊繆嚴譚帥艷愛麗嬌環銀惠鳳順",
)


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def draw_names(rng: np.random.Generator, male: np.ndarray) -> pa.Array:
    """One name per person: surname + one or two given-name characters, Zipf-distributed."""
    n = len(male)
    surnames = pa.array(list(SURNAMES) + list(COMPOUND_SURNAMES))
    sur_p = np.concatenate([_zipf(len(SURNAMES), 0.9) * 0.998, np.full(3, 0.002 / 3)])
    sur = surnames.take(pa.array(rng.choice(len(sur_p), size=n, p=sur_p)))
    first = _given(rng, male)
    second = _given(rng, male)
    single = rng.random(n) < 0.22
    second = pc.if_else(pa.array(single), pa.scalar(""), second)
    return pc.binary_join_element_wise(sur, first, second, "")


def _given(rng: np.random.Generator, male: np.ndarray) -> pa.Array:
    m = pa.array(list(MALE_GIVEN)).take(pa.array(rng.choice(len(MALE_GIVEN), size=len(male), p=_zipf(len(MALE_GIVEN), 0.8))))
    f = pa.array(list(FEMALE_GIVEN)).take(pa.array(rng.choice(len(FEMALE_GIVEN), size=len(male), p=_zipf(len(FEMALE_GIVEN), 0.8))))
    return pc.if_else(pa.array(male), m, f)


def homophone_of(name: str, salt: int) -> str:
    """The name with one character swapped for a same-pinyin one (given name first)."""
    positions = [i for i in range(len(name) - 1, -1, -1) if name[i] in HOMOPHONES]
    if not positions:
        return name
    i = positions[salt % len(positions)] if salt % 3 == 2 else positions[0]
    alts = HOMOPHONES[name[i]]
    return name[:i] + alts[salt % len(alts)] + name[i + 1:]


def traditional_of(name: str) -> str:
    """The name written in traditional characters, as old records and Taiwan-trained clerks do."""
    return name.translate(TRADITIONAL)


# How tickets, passports and bank systems write a name in Latin letters (the generator's own readings, from
# pypinyin, which writes ü as v): surname first or given name first, syllables joined or split, initials.
ROMANISED_STYLES = ("surname_first", "upper", "given_first", "split", "initials")
UMLAUT_AS = ("v", "u", "\u00fc")


def romanised_of(name: str, salt: int) -> tuple[str, int, bool]:
    """(the name in pinyin, the index of its style in ROMANISED_STYLES, whether it holds a ü)."""
    surname_len = 2 if name[:2] in COMPOUND_SURNAMES else 1
    umlaut = UMLAUT_AS[(salt // len(ROMANISED_STYLES)) % len(UMLAUT_AS)]
    syllables = [s.replace("v", umlaut) for s in lazy_pinyin(name)]
    surname, given = "".join(syllables[:surname_len]), syllables[surname_len:]
    style = salt % len(ROMANISED_STYLES)
    name_of = {
        0: lambda: f"{surname.title()} {''.join(given).title()}",
        1: lambda: f"{surname} {''.join(given)}".upper(),
        2: lambda: f"{''.join(given).title()} {surname.title()}",
        3: lambda: " ".join(s.upper() for s in [surname, *given]),
        4: lambda: surname.title() + " " + "".join(g[0].upper() + "." for g in given),
    }
    return name_of[style](), style, any("v" in s for s in lazy_pinyin(name))


def per_distinct(names: pa.Array, fn) -> pa.Array:
    """Apply a str -> str function once per distinct value of a string array."""
    encoded = pc.dictionary_encode(names).combine_chunks() if isinstance(names, pa.ChunkedArray) else pc.dictionary_encode(names)
    mapped = pa.array([fn(v, i) for i, v in enumerate(encoded.dictionary.to_pylist())], type=pa.string())
    return mapped.take(encoded.indices)


def spaced(names: pa.Array) -> pa.Array:
    """'王明华' -> '王 明华': a space after the surname, as typed by some clerks."""
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(names, 0, 1), pc.utf8_slice_codeunits(names, 1), " ")


def romanised(names: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Per person: the name in pinyin, its style (index into ROMANISED_STYLES), whether it holds a ü; computed
    once per distinct name (the distinct name's position is the salt, so a style is spread over names)."""
    encoded = pc.dictionary_encode(names)
    encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    variants = [romanised_of(v, i) for i, v in enumerate(encoded.dictionary.to_pylist())]
    indices = encoded.indices.to_numpy()
    text = pa.array([v[0] for v in variants], pa.string()).take(encoded.indices)
    return text, np.array([v[1] for v in variants], np.int8)[indices], np.array([v[2] for v in variants])[indices]
