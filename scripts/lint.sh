#!/usr/bin/env bash
# Lint and format checks, configured once for the repository (`npm run lint`; `npm test` runs it first):
#   ESLint (eslint.config.mjs: ESLint + typescript-eslint + React hooks recommended sets) over TS/JS/MJS,
#   Prettier (.prettierrc.json, print width 120) over the same files, Ruff (ruff.toml) lint and format over Python,
#   the TypeScript type check (tsc --noEmit: webpack and jest only transpile) and the lock check (check-lock.mjs).
# Every check runs, then the exit status is non-zero if any failed.
#   bash scripts/lint.sh          check only (changes nothing)                      = npm run lint
#   bash scripts/lint.sh --fix    rewrite: ESLint --fix, Prettier, Ruff --fix, Ruff format = npm run format
#   bash scripts/lint.sh --help
set -uo pipefail
cd "$(dirname "$0")/.."

JS_FILES='**/*.{ts,tsx,js,mjs,cjs}'   # .prettierignore keeps node_modules, dist, data and the OHIF copy out
fix=0
case "${1:-}" in
  '') ;;
  --fix) fix=1 ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "lint.sh: unknown option $1 (use --fix or --help)" >&2; exit 2 ;;
esac

if ! python3 -m ruff --version >/dev/null 2>&1; then
  echo "lint.sh: ruff is not installed (bash scripts/setup.sh --trainer installs trainer[dev], which pins it)" >&2; exit 1
fi

failed=()
step() { local name=$1; shift; echo "-- $name"; "$@" || failed+=("$name"); }

if [ $fix = 1 ]; then
  # ESLint's fixes first, Prettier last, so the result is what `prettier --check` accepts; Ruff likewise.
  # What no tool can fix (the findings `npm run lint` still lists) is left for a hand and does not fail this.
  npx --no-install eslint --fix . >/dev/null || true
  step "prettier --write" npx --no-install prettier --write --log-level warn "$JS_FILES"
  python3 -m ruff check --fix --quiet . >/dev/null || true
  step "ruff format" python3 -m ruff format --quiet .
else
  step "eslint" npx --no-install eslint .
  step "prettier --check" npx --no-install prettier --check --log-level warn "$JS_FILES"
  step "ruff check" python3 -m ruff check --output-format concise --quiet .
  step "ruff format --check" python3 -m ruff format --check --output-format concise .
  step "tsc --noEmit" npx --no-install tsc --noEmit -p .
  step "package-lock.json" node scripts/check-lock.mjs
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  [ $fix = 0 ] && echo "lint: \`npm run format\` rewrites the layout (Prettier, Ruff) and applies the automatic fixes" >&2
  exit 1
fi
if [ $fix = 1 ]; then echo "format: done; \`npm run lint\` lists what is left for a hand"; else echo "lint: clean"; fi
