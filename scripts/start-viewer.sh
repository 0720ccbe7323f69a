#!/usr/bin/env bash
# Starts the demo viewer: installs what is missing (scripts/setup.sh --viewer), builds the bundles when the
# sources changed, and serves OHIF with our extension and mode (server/serve.mjs prints the URL).
#   bash scripts/start-viewer.sh                 embedded sample studies (no server needed)      = npm start
#   bash scripts/start-viewer.sh --pacs          the project's Orthanc, started, loaded with the
#                                                sample studies and stopped on exit              = npm run start:pacs
#   bash scripts/start-viewer.sh --pacs URL      any DICOMweb PACS (or SSCLNET_PACS_URL=URL ... --pacs)
# Other options go to server/serve.mjs (--port N, --host H, --models DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

for a in "$@"; do
  if [ "$a" = --help ] || [ "$a" = -h ]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; echo; node server/serve.mjs --help; exit 0
  fi
done

bash scripts/setup.sh --viewer
# webpack leaves unchanged outputs untouched, so a stamp file records when the bundles were last built.
stamp=dist/.build-stamp
if [ ! -f dist/ssclnet-extension.js ] || [ ! -f dist/ssclnet-mode.js ] || [ ! -f dist/ssclnet-inference.js ] || [ ! -f "$stamp" ] ||
   [ -n "$(find extension/src mode/src webpack.config.js package-lock.json -newer "$stamp" -print -quit)" ]; then
  echo "start: building the extension, mode and inference bundles"
  npm run --silent build >/dev/null
  touch "$stamp"
fi

own_orthanc=0
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = --pacs ]; then
    next=${args[$((i + 1))]:-}
    if [[ -z "$next" || "$next" == --* ]] && [ -z "${SSCLNET_PACS_URL:-}" ]; then own_orthanc=1; fi
  fi
done

if [ $own_orthanc = 1 ]; then
  port=${SSCLNET_ORTHANC_PORT:-8043}
  bash scripts/setup.sh --system
  bash pacs/orthanc.sh start --port "$port"
  trap 'bash pacs/orthanc.sh stop >/dev/null' EXIT
  bash pacs/orthanc.sh load --port "$port"
  export SSCLNET_PACS_URL="http://127.0.0.1:$port/dicom-web"
fi
node server/serve.mjs "$@"
