"""Who may read the files a command creates. Round outputs, the graph stores and the access log hold ID numbers and
phones, so by default only their owner may (umask 077: files 0600, directories 0700). ``SILENTCERT_UMASK`` (octal,
e.g. ``027`` to let the owner's group read) changes it; read once in ``main()``.

A umask, not a chmod after the fact: DuckDB, the CSV writers and the access log create their files themselves, and a
file is never readable by others even for a moment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from silentcert.graph.errors import InvalidInput

UMASK_VARIABLE = "SILENTCERT_UMASK"
PRIVATE = 0o077


def umask_from_env(env: Mapping[str, str]) -> int:
    """The umask `env` asks for; PRIVATE when it asks for none."""
    text = env.get(UMASK_VARIABLE, "").strip()
    if not text:
        return PRIVATE
    try:
        value = int(text, 8)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o777:
        raise InvalidInput(f"{UMASK_VARIABLE} must be an octal umask such as 077 or 027, got {text!r}",
                           field=UMASK_VARIABLE)
    return value


@contextmanager
def creating_files_with(umask: int) -> Iterator[None]:
    """Files and directories created inside get `umask`; the process's own is put back afterwards."""
    previous = os.umask(umask)
    try:
        yield
    finally:
        os.umask(previous)
