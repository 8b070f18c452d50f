"""Date and timestamp rendering in the formats the sources export."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STYLES = ("iso", "slash", "compact", "iso_time", "iso_t", "slash_time")


def render(moments: np.ndarray, style: str) -> pa.Array:
    """Render datetime64 values as strings in one of STYLES; NaT renders as null."""
    ts = pa.array(moments.astype("datetime64[s]"))
    if style == "iso":
        return pc.strftime(ts, format="%Y-%m-%d")
    if style == "compact":
        return pc.strftime(ts, format="%Y%m%d")
    if style == "iso_time":
        return pc.strftime(ts, format="%Y-%m-%d %H:%M:%S")
    if style == "iso_t":
        return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S")
    if style == "slash":
        return _slash(ts)
    if style == "slash_time":
        return pc.binary_join_element_wise(_slash(ts), pc.strftime(ts, format="%H:%M"), " ")
    raise ValueError(f"unknown date style {style!r}")


def _slash(ts: pa.Array) -> pa.Array:
    parts = [pc.cast(f(ts), pa.string()) for f in (pc.year, pc.month, pc.day)]
    return pc.binary_join_element_wise(*parts, "/")


def impossible(moments: np.ndarray, style: str) -> pa.Array:
    """Dates that cannot exist (Feb 30, month 13), rendered in the style's layout."""
    year = pc.cast(pc.year(pa.array(moments.astype("datetime64[s]"))), pa.string())
    bad = {"iso": ("-02-30", ""), "iso_time": ("-02-30", " 10:00:00"), "iso_t": ("-13-01", "T09:30:00"),
           "compact": ("0231", ""), "slash": ("/13/5", ""), "slash_time": ("/2/30", " 8:15")}[style]
    return pc.binary_join_element_wise(year, bad[0], bad[1], "")


def with_time(rng: np.random.Generator, days: np.ndarray, start_hour: int = 6, end_hour: int = 21) -> np.ndarray:
    """Day-precision dates plus a random time of day between the given hours."""
    seconds = rng.integers(start_hour * 3600, end_hour * 3600, size=len(days))
    return days.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
