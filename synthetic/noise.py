"""The ways real exports mangle identifiers, and the malformed rows a loader must reject.

Every transform works on whole arrays: ``patch`` applies a function to the selected rows only
and scatters the result back.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789X"}
MALFORMED_KINDS = ("bad_check_digit", "impossible_date", "empty_occurred_at", "duplicate_record_id", "garbage")


def flat(col) -> pa.Array:
    """One contiguous array (Arrow returns chunked arrays for large inputs)."""
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def patch(col: pa.Array, mask: np.ndarray, fn) -> pa.Array:
    """``col`` with rows where ``mask`` is true replaced by ``fn(those rows)``."""
    col = flat(col)
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return col
    changed = fn(col.take(pa.array(rows)))
    where = np.arange(len(col))
    where[rows] = len(col) + np.arange(len(rows))
    return pa.concat_arrays([col, flat(changed).cast(col.type)]).take(pa.array(where))


def ascii_matrix(col: pa.Array, width: int) -> np.ndarray:
    """(n, width) uint8 view of a string array whose values are all ``width`` ASCII characters."""
    col = flat(col)
    col = pa.concat_arrays([col]) if col.offset else col
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    start = int(np.frombuffer(col.buffers()[1], dtype=np.int32)[0])
    return data[start:start + len(col) * width].reshape(len(col), width).copy()


def from_matrix(matrix: np.ndarray) -> pa.Array:
    return flat(pa.array(np.ascontiguousarray(matrix).view(f"S{matrix.shape[1]}").ravel())).cast(pa.string())


def fullwidth(col: pa.Array) -> pa.Array:
    for c, w in FULLWIDTH.items():
        col = pc.replace_substring(col, c, w)
    return col


def id_typo(rng: np.random.Generator):
    """One of the first 17 digits replaced by another digit."""
    def fn(col: pa.Array) -> pa.Array:
        m = ascii_matrix(col, 18)
        pos = rng.integers(0, 17, len(m))
        rows = np.arange(len(m))
        m[rows, pos] = 48 + (m[rows, pos] - 48 + rng.integers(1, 10, len(m))) % 10
        return from_matrix(m)
    return fn


def id_transposed(rng: np.random.Generator):
    """Two adjacent characters of the first 17 swapped (a pair of equal digits is moved on until they differ)."""
    def fn(col: pa.Array) -> pa.Array:
        m = ascii_matrix(col, 18)
        rows = np.arange(len(m))
        pos = rng.integers(0, 16, len(m))
        for _ in range(16):  # a number with every neighbouring pair equal does not exist
            same = m[rows, pos] == m[rows, pos + 1]
            if not same.any():
                break
            pos[same] = (pos[same] + 1) % 16
        a, b = m[rows, pos].copy(), m[rows, pos + 1].copy()
        m[rows, pos], m[rows, pos + 1] = b, a
        return from_matrix(m)
    return fn


def bad_check(col: pa.Array) -> pa.Array:
    """The check character replaced by a wrong one."""
    m = ascii_matrix(col, 18)
    chars = np.frombuffer(b"10X98765432", dtype=np.uint8)
    pos = np.argmax(chars[None, :] == m[:, 17:18], axis=1)
    m[:, 17] = chars[(pos + 1 + (np.arange(len(m)) % 9)) % 11]
    return from_matrix(m)


def spaced_id(col: pa.Array) -> pa.Array:
    """'360102 19500307 1238' or padded with spaces."""
    parts = [pc.utf8_slice_codeunits(col, a, b) for a, b in ((0, 6), (6, 14), (14, 18))]
    return pc.binary_join_element_wise(*parts, " ")


def messy_ids(rng: np.random.Generator, col: pa.Array) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Lowercase x, full-width digits, spaces, padding, one-digit typos and adjacent transpositions on small shares."""
    n = len(col)
    u = rng.random(n)
    masks = {
        "id_typo": u < 0.004,
        "id_transposed": (u >= 0.025) & (u < 0.028),
        "id_fullwidth": (u >= 0.004) & (u < 0.009),
        "id_spaces": (u >= 0.009) & (u < 0.017),
        "id_padded": (u >= 0.017) & (u < 0.025),
        "id_lower_x": (u >= 0.028) & (rng.random(n) < 0.4) & pc.ends_with(col, "X").to_numpy(zero_copy_only=False),
    }
    col = patch(col, masks["id_typo"], id_typo(rng))
    col = patch(col, masks["id_transposed"], id_transposed(rng))
    col = patch(col, masks["id_fullwidth"], fullwidth)
    col = patch(col, masks["id_spaces"], spaced_id)
    col = patch(col, masks["id_padded"], lambda c: pc.binary_join_element_wise(" ", c, "  ", ""))
    col = patch(col, masks["id_lower_x"], pc.utf8_lower)
    return col, masks


def messy_cards(rng: np.random.Generator, col: pa.Array) -> tuple[pa.Array, dict[str, np.ndarray]]:
    u = rng.random(len(col))
    masks = {"card_lower": u < 0.01, "card_spaces": (u >= 0.01) & (u < 0.015)}
    col = patch(col, masks["card_lower"], pc.utf8_lower)
    col = patch(col, masks["card_spaces"], lambda c: pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(c, 0, 1), pc.utf8_slice_codeunits(c, 1), " "))
    return col, masks


def malformed_kinds(rng: np.random.Generator, n: int, has_id: bool, native_time: bool, share: float = 0.005) -> np.ndarray:
    """Per row: -1 for a sound row, else an index into MALFORMED_KINDS."""
    allowed = [k for k, name in enumerate(MALFORMED_KINDS)
               if not (name == "bad_check_digit" and not has_id) and not (name == "impossible_date" and native_time)]
    kind = np.where(rng.random(n) < share, np.asarray(allowed)[rng.integers(0, len(allowed), n)], -1)
    if n and kind[0] == MALFORMED_KINDS.index("duplicate_record_id"):  # the first row has nothing to repeat
        kind[0] = -1
    return kind


def garbage(rng: np.random.Generator, n: int, field: str) -> pa.Array:
    """Junk a broken export leaves in a field."""
    junk = {
        "id_number": ["????????????????", "身份证号", "0", "#N/A", "36010219", "1.2345E+17"],
        "name": ["测试", "测试,数据", "NULL", "", "\"未知\"", "aaa"],
        "occurred_at": ["#VALUE!", "0000-00-00", "N/A", "未知", "99999999"],
    }.get(field, ["?", "", "NULL", "-"])
    return pa.array(junk, pa.string()).take(pa.array(rng.integers(0, len(junk), n)))
