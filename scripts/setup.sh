#!/usr/bin/env bash
# Installs what the project needs, idempotently (a second run only checks):
#   --viewer   npm dependencies (npm ci) and the OHIF release (package.json config.ohifVersion, npm pack into .ohif/):
#              the prebuilt viewer and @ohif/core's bundle for the unit tests
#   --trainer  the Python trainer package (pip, editable, with test and lint dependencies: pytest, ruff)
#   --system   Debian packages: chromium (browser tests), orthanc + orthanc-dicomweb (the PACS), dicom3tools + dcmtk (SR checks)
#   --all      all three
#   --help     this text
set -euo pipefail
cd "$(dirname "$0")/.."

# fetch_ohif NAME DEST MARKER TAR_PATH SIZE: @ohif/NAME@$OHIF_VERSION's TAR_PATH into DEST unless DEST/MARKER exists.
fetch_ohif() {
  local name=$1 dest=$2 marker=$3 member=$4 size=$5 tmp
  [ -f "$dest/$marker" ] && return 0
  echo "setup: fetching @ohif/$name@$OHIF_VERSION (npm pack, $size)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "@ohif/$name@$OHIF_VERSION" --silent >/dev/null)
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial"
  tar -xzf "$tmp/ohif-$name-$OHIF_VERSION.tgz" -C "$dest.partial" --strip-components=1 "$member"
  rm -rf "$tmp" "$dest"
  mv "$dest.partial" "$dest"   # atomic: a killed download never looks complete
}

want_viewer=0 want_trainer=0 want_system=0
for a in "$@"; do
  case "$a" in
    --viewer) want_viewer=1 ;;
    --trainer) want_trainer=1 ;;
    --system) want_system=1 ;;
    --all) want_viewer=1 want_trainer=1 want_system=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; echo "usage: bash scripts/setup.sh --viewer|--trainer|--system|--all ..."; exit 0 ;;
    *) echo "setup.sh: unknown option $a (use --viewer, --trainer, --system or --all)" >&2; exit 2 ;;
  esac
done

if [ $want_system = 1 ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  [ -x /usr/sbin/Orthanc ] || missing+=(orthanc)
  [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || missing+=(orthanc-dicomweb)
  # the SR validity tests (tests/unit/report.sr.test.ts): dciodvfy (dicom3tools) and dsrdump (dcmtk)
  command -v dciodvfy >/dev/null || missing+=(dicom3tools)
  command -v dsrdump >/dev/null || missing+=(dcmtk)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup.sh: please install the Debian packages: ${missing[*]} (needs root)" >&2; exit 1
    fi
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Debian starts an Orthanc service on install; the project runs its own (pacs/orthanc.sh).
  if command -v service >/dev/null && pgrep -x Orthanc >/dev/null 2>&1 && [ -f /etc/init.d/orthanc ]; then
    service orthanc stop >/dev/null 2>&1 || true
  fi
fi

if [ $want_viewer = 1 ]; then
  OHIF_VERSION=$(node -p "require('./package.json').config.ohifVersion")   # one place: package.json "config"
  OHIF_DIR=.ohif/app-$OHIF_VERSION
  OHIF_CORE_DIR=.ohif/core-$OHIF_VERSION
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    # The lock records every platform's optional packages (e.g. jest's @unrs/resolver-binding-*), so `npm ci`
    # installs exactly it on any machine; a refusal is a real error (the lock is out of date with package.json).
    npm ci --no-fund --no-audit --loglevel=error
  fi
  # The OHIF release, fetched with `npm pack` (registry integrity check) and kept out of node_modules: the app's
  # prebuilt dist (what the demo serves) and @ohif/core's UMD bundle (what tests/unit/extension.ohifcore.test.ts
  # registers the extension with; jest maps '@ohif/core' to it). @ohif/core is not an npm dependency: its package
  # declares OHIF's own build requirements (Node >= 24, dcmjs...) that its prebuilt bundle does not have.
  fetch_ohif app "$OHIF_DIR" dist/index.html package/dist "~200 MB unpacked"
  fetch_ohif core "$OHIF_CORE_DIR" dist/ohif-core.umd.js package/dist/ohif-core.umd.js "0.4 MB"
fi

if [ $want_trainer = 1 ]; then
  # The editable install must point at *this* checkout (another clone may have installed its own).
  here=$(cd trainer && pwd -P)
  installed=$(python3 -c "import os, ssclnet, torch, pydicom, pytest, ruff; print(os.path.dirname(os.path.dirname(os.path.realpath(ssclnet.__file__))))" 2>/dev/null || true)
  # ruff is pinned in trainer[dev] (formatting changes between versions): another version means reinstall.
  ruff_pin=$(grep -o 'ruff==[0-9.]*' trainer/pyproject.toml | cut -d= -f3)
  ruff_have=$(python3 -m ruff --version 2>/dev/null | cut -d' ' -f2 || true)
  if [ "$installed" != "$here" ] || [ "$ruff_have" != "$ruff_pin" ]; then
    echo "setup: pip install -e trainer[dev] (PyTorch is large: a first install takes minutes)"
    python3 -m pip install -q --disable-pip-version-check -e "trainer[dev]"
  fi
fi
