"""Where a finished round's outputs are, for clients that fetch them (the batch gRPC client): the resolver's
`output_file`, passed in by services/serving.py."""

from __future__ import annotations

from pathlib import Path

from silentcert.graph.errors import InvalidInput, NotFound
from silentcert.services.rounds.context import DB_NAME, STATE_DIR
from silentcert.services.rounds.publish import OUTPUT_FILES

OUTPUT_NAMES = (*OUTPUT_FILES, "report.json", "report.html")


def output_file(out_dir: str | Path, name: str) -> Path:
    """The path of output `name` of the round written to `out_dir`; only CONTRACT section 3 files are served."""
    if name not in OUTPUT_NAMES:
        raise InvalidInput(f"name must be one of {', '.join(OUTPUT_NAMES)}, got {name!r}", field="name")
    out = Path(out_dir)
    if not (out / STATE_DIR / DB_NAME).is_file():
        raise NotFound(f"{out} is not the output directory of a round")
    path = out / name
    if not path.is_file():
        raise NotFound(f"{name} is not written yet in {out}: the round has not finished")
    return path
