"""Writing tables as CSV (UTF-8 or GB18030, LF or CRLF) or Parquet, byte-for-byte reproducibly.

CSV lines are assembled by Arrow string kernels; the file body is the data buffer of the
resulting string array, so no Python code runs per row.
"""

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CHUNK_ROWS = 500_000


def _quoted(col: pa.Array) -> pa.Array:
    """Quote a value when it holds a comma, quote or line break (RFC 4180)."""
    col = pc.fill_null(col.cast(pa.string()), "")
    needs = pc.match_substring_regex(col, '[,"\\r\\n]')
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, col)


def csv_body(table: pa.Table, newline: str) -> bytes:
    cols = [_quoted(table.column(i).combine_chunks()) for i in range(table.num_columns)]
    lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
    lines = pc.binary_join_element_wise(lines, "", newline)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].to_pybytes()[start:end]


def write_csv(table: pa.Table, path: Path, encoding: str = "utf-8", newline: str = "\n") -> None:
    """Header plus rows; values quoted only when needed; nulls written as empty fields."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        write_csv_to(table, out, encoding, newline)


def write_csv_to(table: pa.Table, out: BinaryIO, encoding: str = "utf-8", newline: str = "\n",
                 bom: bool = False) -> None:
    """write_csv into an open binary stream; `bom` starts it with a byte-order mark."""
    header = ",".join(_quoted(pa.array(table.column_names, pa.string())).to_pylist()) + newline
    out.write(_encode(("\ufeff" if bom else "").encode("utf-8") + header.encode("utf-8"), encoding))
    for start in range(0, table.num_rows, CHUNK_ROWS):
        out.write(_encode(csv_body(table.slice(start, CHUNK_ROWS), newline), encoding))


def _encode(utf8: bytes, encoding: str) -> bytes:
    return utf8 if encoding == "utf-8" else utf8.decode("utf-8").encode(encoding)


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=CHUNK_ROWS)
