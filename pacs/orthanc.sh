#!/usr/bin/env bash
# The project's own Orthanc PACS (Debian's orthanc + orthanc-dicomweb), on 127.0.0.1 only, storing in a
# working folder (default .cache/orthanc, git-ignored). config/orthanc.json is the base configuration; this
# script fills in the port and folders.
#   bash pacs/orthanc.sh start [--port 8043] [--dir .cache/orthanc]   start it, wait until it answers
#   bash pacs/orthanc.sh load  [--port 8043]                          STOW-RS the sample studies into it
#   bash pacs/orthanc.sh stop  [--dir .cache/orthanc]                 stop it
#   bash pacs/orthanc.sh status [--port 8043]
# DICOMweb root once started: http://127.0.0.1:<port>/dicom-web (give it to the viewer: npm run start:pacs).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in -h|--help|help) usage; exit 0 ;; esac
port=${SSCLNET_ORTHANC_PORT:-8043}
dir=${SSCLNET_ORTHANC_DIR:-.cache/orthanc}
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "orthanc.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
url="http://127.0.0.1:$port"
pidfile="$dir/orthanc.pid"

answers() { curl -sf -o /dev/null --max-time 2 "$url/system"; }
running_pid() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }

case "$cmd" in
  start)
    [ -x /usr/sbin/Orthanc ] || { echo "orthanc.sh: Orthanc is not installed (bash scripts/setup.sh --system)" >&2; exit 1; }
    plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
    [ -f "$plugin" ] || { echo "orthanc.sh: the DICOMweb plugin is missing: apt-get install orthanc-dicomweb" >&2; exit 1; }
    if pid=$(running_pid); then echo "orthanc.sh: already running (pid $pid) at $url"; exit 0; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "orthanc.sh: port $port is already in use; choose another with --port (or SSCLNET_ORTHANC_PORT)" >&2; exit 1
    fi
    mkdir -p "$dir/storage"
    abs=$(cd "$dir" && pwd)
    node -e '
      const fs = require("fs");
      const [base, out, port, storage] = process.argv.slice(1);
      const c = JSON.parse(fs.readFileSync(base, "utf8"));
      Object.assign(c, { HttpPort: Number(port), StorageDirectory: storage, IndexDirectory: storage });
      fs.writeFileSync(out + ".tmp", JSON.stringify(c, null, 2));
      fs.renameSync(out + ".tmp", out);
    ' config/orthanc.json "$abs/orthanc.json" "$port" "$abs/storage"
    nohup /usr/sbin/Orthanc "$abs/orthanc.json" >"$abs/orthanc.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if answers; then echo "orthanc.sh: Orthanc at $url (DICOMweb $url/dicom-web), pid $(cat "$pidfile"), log $dir/orthanc.log"; exit 0; fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "orthanc.sh: Orthanc exited; its log:" >&2; tail -20 "$abs/orthanc.log" >&2; exit 1; }
      sleep 0.2
    done
    echo "orthanc.sh: Orthanc did not answer on $url within 20 s (log: $dir/orthanc.log)" >&2; exit 1 ;;
  load)
    answers || { echo "orthanc.sh: no Orthanc answers at $url (start it first)" >&2; exit 1; }
    node pacs/stow.mjs "$url/dicom-web" demo/sample-study ;;
  stop)
    if pid=$(running_pid); then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "orthanc.sh: stopped (pid $pid)"
    else
      echo "orthanc.sh: not running"
    fi
    rm -f "$pidfile" ;;
  status)
    if answers; then echo "orthanc.sh: running at $url"; else echo "orthanc.sh: nothing answers at $url"; exit 1; fi ;;
  *) echo "usage: bash pacs/orthanc.sh start|load|stop|status [--port N] [--dir DIR]   (--help: more)" >&2; exit 2 ;;
esac
