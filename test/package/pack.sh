#!/usr/bin/env bash
# The published package, as a user gets it: `npm pack` (its prepack builds),
# the tarball's contents, a global install into a private prefix, then from an
# empty directory --version, --help, the demo on disk and listed, and the demo
# seeded into PostgreSQL and listed. .ci/run runs it after npm test.
#
# PostgreSQL: NOETL_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
# in a schema of its own that is dropped at the end; skipped (and said so) with
# NOETL_TEST_BACKENDS=pglite.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PG_URL=${NOETL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
SCHEMA=nc_pack_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/noetl-console-pack-XXXXXX")
cleanup() {
  if [ -n "${PG_SEEDED:-}" ]; then psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "pack: FAIL: $*" >&2; exit 1; }
step() { echo "pack: $*"; }

step "npm pack (prepack builds dist/)"
npm pack --silent --pack-destination "$WORK" >/dev/null
TGZ=$(ls "$WORK"/noetl-console-*.tgz)

tar tzf "$TGZ" | sort >"$WORK/contents"
grep -qx 'package/LICENSE' "$WORK/contents" || fail "no LICENSE in the tarball"
grep -qx 'package/README.md' "$WORK/contents" || fail "no README.md in the tarball"
grep -qx 'package/dist/cli.js' "$WORK/contents" || fail "no dist/cli.js in the tarball"
if grep -vE '^package/(package\.json|README\.md|LICENSE|dist/[A-Za-z0-9_-]+\.js)$' "$WORK/contents"; then
  fail "the tarball holds files other than package.json, README.md, LICENSE and dist/*.js (above)"
fi
# Nothing built from test/ or bench/: esbuild heads each bundled module with its path.
if tar xzOf "$TGZ" --wildcards 'package/dist/*' | grep -nE '^// (test|bench)/|vitest|ink-testing-library' | head -5 | grep .; then
  fail "dist/ in the tarball holds test or bench code (above)"
fi
step "tarball: $(wc -l <"$WORK/contents") files, LICENSE, no test/bench/soak code"

step "npm install -g --prefix"
npm install -g --prefix "$WORK/prefix" --no-audit --no-fund --prefer-offline --silent "$TGZ"
BIN=$WORK/prefix/bin/noetl-console
[ -x "$BIN" ] || fail "no bin at $BIN"

mkdir "$WORK/empty" && cd "$WORK/empty"
# A user's environment, without this repository's.
run() { env -u NOETL_DATABASE_URL -u DATABASE_URL -u NOETL_SCHEMA -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER NO_COLOR=1 "$BIN" "$@"; }

version=$(run --version)
[ "$version" = "$(node -p "require('$ROOT/package.json').version")" ] || fail "--version printed '$version'"
run --help | grep -q 'demo' || fail "--help does not list demo"
step "--version $version, --help"

run demo --data-dir "$WORK/d" >"$WORK/seed.out" || fail "demo --data-dir exited $?"
grep -q 'noetl-console list --database-url pglite://' "$WORK/seed.out" || fail "demo --data-dir did not say what to try next"
run list --database-url "pglite://$WORK/d" --json >"$WORK/list.json" || fail "list on the demo data dir exited $?"
count=$(node -e "const j = JSON.parse(require('fs').readFileSync('$WORK/list.json', 'utf8')); console.log(j.count)")
[ "$count" -gt 0 ] || fail "list on the demo data dir found no stuck executions"
if run demo --data-dir "$WORK/d" >/dev/null 2>"$WORK/again.err"; then fail "a second demo --data-dir into the same directory was not refused"; else code=$?; fi
[ "$code" = 2 ] || fail "a second demo --data-dir exited $code, not 2"
step "demo --data-dir, then list --database-url pglite:///D --json: $count stuck"

if [ "${NOETL_TEST_BACKENDS:-pglite,postgres}" = pglite ]; then
  step "SKIPPED demo --seed-into: NOETL_TEST_BACKENDS=pglite (no PostgreSQL)"
else
  PG_SEEDED=1
  run demo --seed-into "$PG_URL" --schema "$SCHEMA" >"$WORK/pg-seed.out" || fail "demo --seed-into exited $?"
  run list --database-url "$PG_URL" --schema "$SCHEMA" >"$WORK/pg-list.out" || fail "list after demo --seed-into exited $?"
  grep -q 'never claimed' "$WORK/pg-list.out" || fail "list after demo --seed-into shows no stuck execution"
  if run demo --seed-into "$PG_URL" --schema "$SCHEMA" >/dev/null 2>"$WORK/pg-again.err"; then fail "demo --seed-into an existing schema was not refused"; else code=$?; fi
  [ "$code" = 2 ] || fail "demo --seed-into an existing schema exited $code, not 2"
  grep -q -- '--force' "$WORK/pg-again.err" || fail "the refusal does not mention --force"
  step "demo --seed-into, then list --database-url URL: $(grep -c 'never claimed\|worker dead\|idle\|failed step\|waiting on' "$WORK/pg-list.out") stuck rows; a second seed refused"
fi
step "ok"
