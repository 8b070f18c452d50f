#!/usr/bin/env bash
# Fail when the committed stubs in silentcert/*/v1 drift from proto/, or when the protos are not lint- and format-clean.
# Regenerates into a temp dir and compares; the repo is never modified.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$repo"
buf lint
buf format -d --exit-code

scripts/gen_protos.sh "$tmp" 2>/dev/null
stale=0
for generated in "$tmp"/silentcert/*/; do
    name="$(basename "$generated")"
    diff -r -u --exclude=__pycache__ "$generated" "$repo/silentcert/$name" || stale=1
done
if [[ "$stale" == 1 ]]; then
    echo "check_generated: silentcert/ differs from proto/; run scripts/gen_protos.sh and commit the result" >&2
    exit 1
fi
echo "check_generated: protos lint- and format-clean, stubs up to date"
