"""A file cut inside a character is named as truncated; a file in another encoding still gets the encoding hint."""

from __future__ import annotations

import pytest

from silentcert.graph.errors import SourceFileError
from silentcert.services.rounds.readers import read_file
from silentcert.services.rounds.roundfile import FileSpec

ROWS = "record_id,occurred_at,name\n" + "".join(f"R{i},2021-09-{i % 28 + 1:02d},王建国{i}\n" for i in range(50))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_file_cut_inside_a_character_is_called_truncated(tmp_path, encoding):
    data = ROWS.encode(encoding)
    cut = data[:data.rindex("国".encode(encoding)) + 1]
    path = tmp_path / "s.csv"
    path.write_bytes(cut)
    with pytest.raises(SourceFileError, match=f"s.csv ends in the middle of a {encoding} character: the file is "
                                              "truncated"):
        read_file(FileSpec("s", "strong", path, encoding))


def test_a_whole_file_in_another_encoding_gets_the_encoding_hint(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(ROWS.encode("gb18030"))
    with pytest.raises(SourceFileError, match='set encoding = "gb18030"') as refused:
        read_file(FileSpec("s", "strong", path, "utf-8"))
    assert "truncated" not in str(refused.value)
