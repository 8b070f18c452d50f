"""Duplicate accounts: living pensioners registered a second time, in another county.

A second account carries the pensioner's ID as the clerk entered it (the same 18 characters, the legacy 15-digit
form, or one digit of the sequence mistyped), the name as the clerk typed it (half the time a homophone, the
traditional form or spaced out), another county, no card, half the time the same phone. Only the truth file
(``truth/duplicates.csv``) says which accounts are one person; the registry does not.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import names
from silentcert.synthetic.population import People

ID_FORMS = ("same", "legacy", "typo")


def second_accounts(rng: np.random.Generator, table: pa.Table, people: People, ids: pa.Array, alive: np.ndarray,
                    share: float) -> tuple[pa.Table, pa.Table]:
    """The registry with second accounts of ``share`` of the living pensioners appended (sorted by person_id), and
    the truth table (person_id, duplicate_person_id, id_form)."""
    n = people.pensioners
    living = np.flatnonzero(alive[:n])
    k = min(len(living), int(round(share * n)))
    chosen = np.sort(rng.choice(living, k, replace=False)) if k else np.array([], dtype=np.int64)
    originals = ids.take(pa.array(chosen))
    rows = table.filter(pc.is_in(table["person_id"], value_set=originals))
    order = pc.index_in(rows["person_id"], value_set=originals).to_numpy(zero_copy_only=False)
    rows = rows.take(pa.array(np.argsort(order)))  # rows in the order of `chosen`
    form = rng.integers(0, len(ID_FORMS), k)
    second = pa.table({
        "person_id": pa.array([f"JX2{i:08d}" for i in range(k)], pa.string()),
        "id_number": pa.array(_id_as_entered(rng, people, chosen, form), pa.string()),
        "name": _name_as_typed(rng, people, chosen),
        "sex": rows["sex"],
        "birth_date": rows["birth_date"],
        "phone": pc.if_else(pa.array(rng.random(k) < 0.5), rows["phone"], pa.nulls(k, pa.string())),
        "card_no": pa.nulls(k, pa.string()),
        "county_code": pa.array(_other_county(rng, people, chosen), pa.string()),
        "unit_id": rows["unit_id"],
        "monthly_pension": rows["monthly_pension"],
        "certified_until": rows["certified_until"],
    })
    truth = pa.table({"person_id": originals, "duplicate_person_id": second["person_id"],
                      "id_form": pa.array([ID_FORMS[f] for f in form], pa.string())})
    return pa.concat_tables([table, second.cast(table.schema)]).sort_by("person_id"), truth


def _id_as_entered(rng: np.random.Generator, people: People, chosen: np.ndarray, form: np.ndarray) -> list[str]:
    out = []
    for i, f in zip(chosen, form):
        id18 = people.id18[int(i)].as_py()
        if ID_FORMS[f] == "legacy":
            out.append(id18[:6] + id18[8:17])
        elif ID_FORMS[f] == "typo":
            pos = int(rng.integers(14, 17))
            digit = str((int(id18[pos]) + int(rng.integers(1, 10))) % 10)
            out.append(id18[:pos] + digit + id18[pos + 1:])
        else:
            out.append(id18)
    return out


def _name_as_typed(rng: np.random.Generator, people: People, chosen: np.ndarray) -> pa.Array:
    idx = pa.array(chosen)
    u = rng.random(len(chosen))
    name = pc.if_else(pa.array(u < 0.2), people.name_homophone.take(idx), people.name.take(idx))
    name = pc.if_else(pa.array((u >= 0.2) & (u < 0.35)), people.name_traditional.take(idx), name)
    spaced = names.spaced(name)
    return pc.if_else(pa.array((u >= 0.35) & (u < 0.5)), spaced, name)


def _other_county(rng: np.random.Generator, people: People, chosen: np.ndarray) -> list[str]:
    counties = np.unique(people.county_code[:people.pensioners])
    out = []
    for i in chosen:
        own = people.county_code[int(i)]
        others = counties[counties != own]
        out.append(str(rng.choice(others)) if len(others) else str(own))
    return out
