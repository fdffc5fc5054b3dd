#!/usr/bin/env bash
# One entry point for a fresh Debian machine with only Python 3.11:
#   bash dev.sh main   set up (pinned versions, data) and run the main job: pretrain a small BERT on the WEB Bible
#   bash dev.sh test   set up and run the test suite
#   bash dev.sh setup  only set up the virtual environment (.venv) and the data
# The environment is created on first use and reused while requirements.txt and setup.cfg are unchanged.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

log() { printf '[dev.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  # Debian packages that carry the real data sets; without root they are skipped and the tests that need them skip.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null; then
    log "could not install ${missing[*]} (no root or no apt); what needs them will skip or fail with a message"
  fi
}

setup_python() {
  if [ ! -x "$PY" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
  fi
  local want have
  want=$(cat requirements.txt setup.cfg | sha256sum | cut -c1-16)
  have=$(cat "$VENV/.installed" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    log "installing pinned requirements"
    "$PY" -m pip install -q --disable-pip-version-check -r requirements.txt
    "$PY" -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > "$VENV/.installed"
  fi
}

setup_data() {
  apt_install sword-text-web sword-text-sparv dataset-fashion-mnist
}

cmd="${1:-}"
shift || true
case "$cmd" in
  setup)
    setup_python; setup_data ;;
  main)
    setup_python; setup_data
    exec "$PY" examples/run_mlm.py --preset bert-mini --output_dir outputs/bert-mini-web "$@" ;;
  test)
    setup_python; setup_data
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
    exec "$PY" -m pytest -q -p no:cacheprovider "$@" ;;
  *)
    echo "usage: bash dev.sh main|test|setup [extra arguments]" >&2; exit 2 ;;
esac
