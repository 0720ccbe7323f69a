#!/usr/bin/env bash
# Installs what the project needs, idempotently (a second run only checks):
#   --viewer   npm dependencies and the prebuilt OHIF 3.13.2 viewer (npm pack, cached in .ohif/)
#   --trainer  the Python trainer package (pip, editable, with test dependencies)
#   --system   Debian packages: chromium (browser tests), orthanc + orthanc-dicomweb (the PACS)
#   --all      all three
set -euo pipefail
cd "$(dirname "$0")/.."

OHIF_VERSION=3.13.2
OHIF_DIR=.ohif/app-$OHIF_VERSION

want_viewer=0 want_trainer=0 want_system=0
for a in "$@"; do
  case "$a" in
    --viewer) want_viewer=1 ;;
    --trainer) want_trainer=1 ;;
    --system) want_system=1 ;;
    --all) want_viewer=1 want_trainer=1 want_system=1 ;;
    *) echo "setup.sh: unknown option $a (use --viewer, --trainer, --system or --all)" >&2; exit 2 ;;
  esac
done

if [ $want_system = 1 ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  [ -x /usr/sbin/Orthanc ] || missing+=(orthanc)
  [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || missing+=(orthanc-dicomweb)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup.sh: please install the Debian packages: ${missing[*]} (needs root)" >&2; exit 1
    fi
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Debian starts an Orthanc service on install; the project runs its own (scripts/orthanc.sh).
  if command -v service >/dev/null && pgrep -x Orthanc >/dev/null 2>&1 && [ -f /etc/init.d/orthanc ]; then
    service orthanc stop >/dev/null 2>&1 || true
  fi
fi

if [ $want_viewer = 1 ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    if ! npm ci --no-fund --no-audit --loglevel=error 2>/tmp/ssclnet-npm-ci.err; then
      # npm 11 records jest's optional per-platform resolver packages only for the platforms the registry
      # listed when the lock was written, and then `npm ci` calls the lock out of sync; `npm install` keeps
      # the locked versions and installs the same tree.
      grep -m1 -E 'Missing|error' /tmp/ssclnet-npm-ci.err >&2 || true
      echo "setup: npm ci refused the lock file; falling back to npm install"
      npm install --no-fund --no-audit --loglevel=error
    fi
  fi
  if [ ! -f "$OHIF_DIR/dist/index.html" ]; then
    echo "setup: fetching the prebuilt OHIF viewer @ohif/app@$OHIF_VERSION (npm pack, ~200 MB unpacked)"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "@ohif/app@$OHIF_VERSION" --silent >/dev/null)
    mkdir -p "$OHIF_DIR.partial"
    tar -xzf "$tmp"/ohif-app-"$OHIF_VERSION".tgz -C "$OHIF_DIR.partial" --strip-components=1 package/dist
    rm -rf "$tmp" "$OHIF_DIR"
    mv "$OHIF_DIR.partial" "$OHIF_DIR"   # atomic: a killed download never looks complete
  fi
fi

if [ $want_trainer = 1 ]; then
  # The editable install must point at *this* checkout (another clone may have installed its own).
  here=$(cd trainer && pwd -P)
  installed=$(python3 -c "import os, ssclnet, torch, pydicom, pytest; print(os.path.dirname(os.path.dirname(os.path.realpath(ssclnet.__file__))))" 2>/dev/null || true)
  if [ "$installed" != "$here" ]; then
    echo "setup: pip install -e trainer[dev] (PyTorch is large: a first install takes minutes)"
    python3 -m pip install -q --disable-pip-version-check -e "trainer[dev]"
  fi
fi
