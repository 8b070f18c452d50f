"""`silentcert review list | show | decide` against a real server: a generated county's round in the embedded
store, the three services on port 0 behind TLS and bearer tokens, the command line run as an investigator runs it.
The queue's filters, a case, the three decisions (escalated flags come back with --status escalated), the
decision in the audit trail, and the refusals a terminal user meets (no note to clear, another's name, no token,
a bad county code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from silentcert.clients.cli import main
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.model import FlagFilter
from tests.integration.reviewed_round import reviewed_round

REVIEWER = "reviewer.li"


@dataclass(frozen=True)
class Served:
    store: EmbeddedStore
    address: str
    ca: Path
    reviewer_token: str
    certifier_token: str

    def args(self, token: str | None = None) -> list[str]:
        return ["--server", self.address, "--ca", str(self.ca), "--token", token or self.reviewer_token]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    with reviewed_round(tmp_path_factory.mktemp("review-cli"), REVIEWER) as running:
        yield Served(running.store, f"localhost:{running.port}", running.pki / "ca.pem", running.reviewer_token,
                     running.certifier_token)


def review(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["review", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys, served: Served, *filters: str) -> list[dict]:
    code, out, err = review(capsys, "list", "--json", "--limit", "1000", *filters, *served.args())
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_the_queue_lists_the_rounds_flags_with_each_filter(served, capsys):
    everything = served.store.flags(FlagFilter(limit=100_000))
    open_flags = [f for f in everything if f.status == "open"]
    assert [f["flag_id"] for f in listed(capsys, served)] == [f.flag_id for f in open_flags]

    county = open_flags[0].county_code
    assert {f["county_code"] for f in listed(capsys, served, "--county", county)} == {county}
    kind = "unconfirmed_death"
    assert [f["flag_id"] for f in listed(capsys, served, "--kind", kind)] == [
        f.flag_id for f in open_flags if f.kind == kind]
    assert {f["severity"] for f in listed(capsys, served, "--severity", "critical")} == {"critical"}
    assert len(listed(capsys, served, "--status", "any")) == len(everything)

    code, out, _ = review(capsys, "list", "--limit", "3", *served.args())
    assert code == 0 and out.splitlines()[0].split()[:3] == ["flag", "kind", "severity"]
    assert out.splitlines()[1].startswith(open_flags[0].flag_id) and "limit reached" in out


def test_a_case_is_decided_from_the_terminal_and_lands_in_the_audit_trail(served, capsys):
    deaths = listed(capsys, served, "--kind", "unconfirmed_death")
    escalated, confirmed = deaths[0], deaths[1]

    code, out, _ = review(capsys, "show", escalated["flag_id"], *served.args())
    assert code == 0 and f"flag        {escalated['flag_id']}" in out
    assert f"person      {escalated['person_id']}" in out and "cited by the flag" in out
    assert any(line.lstrip().startswith("* ") for line in out.splitlines()), "the death record it cites, starred"

    note = "register entry names another man of the same name; asked the county office"
    code, out, _ = review(capsys, "decide", escalated["flag_id"], "escalate", "--reviewer", REVIEWER, "--note", note,
                          *served.args())
    assert code == 0 and f"flag {escalated['flag_id']}: escalated by {REVIEWER}" in out

    # out of the open queue, into the escalated one
    assert escalated["flag_id"] not in {f["flag_id"] for f in listed(capsys, served)}
    back = [f for f in listed(capsys, served, "--status", "escalated") if f["flag_id"] == escalated["flag_id"]]
    assert back and back[0]["note"] == note and back[0]["decided_by"] == REVIEWER

    # a senior clears it later; another flag is confirmed
    code, out, _ = review(capsys, "decide", escalated["flag_id"], "clear", "--reviewer", REVIEWER,
                          "--note", "seen alive at the township office on 2021-11-02", *served.args())
    assert code == 0 and "dismissed" in out
    code, out, _ = review(capsys, "decide", confirmed["flag_id"], "confirm", "--reviewer", REVIEWER,
                          "--note", "family and police confirm", *served.args())
    assert code == 0 and "confirmed" in out

    code, out, _ = review(capsys, "show", escalated["flag_id"], *served.args())
    assert code == 0 and f"decided     by {REVIEWER}" in out
    decisions = [line.split() for line in out.splitlines() if "decide_flag:" in line]
    assert [d[2:4] for d in decisions] == [[REVIEWER, "decide_flag:escalate"], [REVIEWER, "decide_flag:dismiss"]]
    assert served.store.flag(confirmed["flag_id"]).flag.status == "confirmed"


def test_the_terminal_user_gets_a_reason_not_a_traceback(served, capsys):
    (flag, *_) = listed(capsys, served)
    code, _, err = review(capsys, "decide", flag["flag_id"], "clear", "--reviewer", REVIEWER, *served.args())
    assert code == 2 and "note" in err
    code, _, err = review(capsys, "decide", flag["flag_id"], "confirm", "--reviewer", "someone.else",
                          *served.args())
    assert code == 2 and f"reviewer must be the authenticated caller '{REVIEWER}'" in err
    code, _, err = review(capsys, "list", *served.args(served.certifier_token))
    assert code == 2 and "PERMISSION_DENIED" in err
    code, _, err = review(capsys, "show", "no-such-flag", *served.args())
    assert code == 2 and "no-such-flag" in err
    code, _, err = review(capsys, "list", "--server", served.address, "--ca", str(served.ca), "--token", "sct_nope")
    assert code == 2 and "UNAUTHENTICATED" in err
    assert served.store.flag(flag["flag_id"]).flag.status == "open", "nothing was decided"
    with pytest.raises(SystemExit):
        main(["review", "list", "--county", "36072", *served.args()])
    assert "a county code is 6 digits" in capsys.readouterr().err
