"""Traditional -> simplified, one character to one, from OpenCC's ``t2s`` conversion.

OpenCC (the converter Wikipedia and most Chinese software use) is asked once for the simplified form of every
CJK unified ideograph (the basic block, extension A and the compatibility block); the characters it changes
into exactly one other character make the table. A name is a string of characters, not a phrase, so each
character is converted on its own, the same way in Python (``str.translate``) and in DuckDB
(``widths.translate_sql``), and a department typing 陳國華 meets the registry's 陈国华.
"""

import opencc

_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _pairs() -> tuple[str, str]:
    chars = [chr(c) for low, high in _BLOCKS for c in range(low, high + 1)]
    # One character a line, so no phrase rule of OpenCC's joins neighbouring code points.
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    table = {t: s for t, s in zip(chars, converted, strict=True) if len(s) == 1 and s != t}
    # Followed to the end, so converting twice changes nothing (a compatibility form of 謁 becomes 謁, then 谒).
    for t, s in table.items():
        while s in table and table[s] != t:
            s = table[s]
        table[t] = s
    pairs = [(t, s) for t, s in table.items() if s != t]
    return "".join(t for t, _ in pairs), "".join(s for _, s in pairs)


TRADITIONAL, SIMPLIFIED = _pairs()
