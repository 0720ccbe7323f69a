#!/usr/bin/env bash
# The whole test suite, as README says: `npm test`. Installs what is missing first (scripts/setup.sh).
#   unit + parity tests (jest), trainer tests (pytest), end-to-end tests in headless Chromium
#   against the embedded sample study and a real Orthanc PACS (started and stopped by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --viewer --trainer --system

echo "== build (webpack: extension + mode as ES modules)"
npm run --silent build

echo "== unit and parity tests (jest)"
npx jest --ci

echo "== trainer tests (pytest)"
python3 -m pytest -q tests/python

echo "== end-to-end tests (headless Chromium)"
npm run --silent test:e2e
