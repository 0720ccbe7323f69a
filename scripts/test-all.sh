#!/usr/bin/env bash
# The whole test suite, as README says: `npm test`. Installs what is missing first (scripts/setup.sh).
#   lint and format checks (scripts/lint.sh), unit + parity tests (jest), trainer tests (pytest), end-to-end tests in headless Chromium
#   against the embedded sample study and a real Orthanc PACS (started and stopped by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  '') ;;
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; echo "usage: npm test (or bash scripts/test-all.sh); no options"; exit 0 ;;
  *) echo "test-all.sh: no options (got $1); see --help" >&2; exit 2 ;;
esac
bash scripts/setup.sh --viewer --trainer --system

echo "== lint (ESLint, Prettier, Ruff: bash scripts/lint.sh; npm run format fixes formatting)"
bash scripts/lint.sh

echo "== build (webpack: extension + mode as ES modules)"
npm run --silent build

echo "== unit and parity tests (jest)"
npx jest --ci

echo "== trainer tests (pytest)"
python3 -m pytest -q tests/python

echo "== end-to-end tests (headless Chromium)"
npm run --silent test:e2e
