import json
from datetime import UTC, datetime, timedelta

import pytest

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.tokens import TokenBook, TokenRejected, issue_token

NOW = datetime(2021, 11, 1, tzinfo=UTC)


def test_issued_token_verifies_with_its_role_and_is_stored_hashed(tmp_path):
    path = tmp_path / "tokens.json"
    token = issue_token(path, role="reviewer", name="rev-1", clock=lambda: NOW)
    entry = TokenBook(path, clock=lambda: NOW).verify(token)
    assert (entry.name, entry.role) == ("rev-1", "reviewer")
    assert token not in path.read_text()
    assert (path.stat().st_mode & 0o777) == 0o600


def test_unknown_and_expired_tokens_are_rejected(tmp_path):
    path = tmp_path / "tokens.json"
    token = issue_token(path, role="reader", name="r", days=1, clock=lambda: NOW)
    book = TokenBook(path, clock=lambda: NOW + timedelta(days=2))
    with pytest.raises(TokenRejected, match="expired"):
        book.verify(token)
    with pytest.raises(TokenRejected, match="unknown"):
        book.verify(token + "x")


def test_unknown_role_and_broken_file_are_refused(tmp_path):
    with pytest.raises(InvalidInput, match="role"):
        issue_token(tmp_path / "t.json", role="root", name="x")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"tokens": [{"name": "x"}]}))
    with pytest.raises(InvalidInput, match="not a silentcert token file"):
        TokenBook(broken)
