#!/usr/bin/env bash
# Installs heard-local into ./.venv on a fresh Linux machine (CPU only, no internet beyond package
# registries). Usage: scripts/install.sh [app|dev]
#   app: the application.   dev: the application plus test tools and the system packages tests use.
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
venv="${HEARD_VENV:-.venv}"
python="${PYTHON:-python3}"

say() { printf '[install] %s\n' "$*" >&2; }

if [ "$mode" = dev ]; then
  # espeak-ng/sox/ffmpeg make test conversations; chromium drives the browser tests.
  missing=""
  for tool in espeak-ng sox ffmpeg chromium; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
  if [ -n "$missing" ]; then
    say "installing system packages:$missing"
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q $missing >/dev/null
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

stamp="$venv/.heard-installed-$mode"
inputs_hash=$(cat pyproject.toml constraints.txt scripts/install.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ]; then
  say "environment up to date ($venv)"
  exit 0
fi

# torch first, from PyTorch's CPU index: otherwise pip resolves pyannote.audio's torch requirement to the
# CUDA build on PyPI (several GB). --retries 1: where that index cannot be reached, pip's other
# configured sources answer without five back-offs per package. TORCH_INDEX_URL overrides the index.
say "installing torch (CPU build)"
"${pip[@]}" install --retries 1 --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" \
  "torch==$(sed -n 's/^torch==//p' constraints.txt)"

# dev: everything the tests use (the notebooks run with the notebook extra, the Ray runner with cluster).
extra=""; [ "$mode" = dev ] && extra="[dev,notebook,cluster]"
say "installing heard-local$extra"
"${pip[@]}" install -c constraints.txt -e ".$extra"

# torchaudio's PyPI wheels ship native extensions linked against CUDA; with a CPU torch they fail to
# load. heard-local imports pyannote.audio without them anyway (heard_local/adapters/pyannote_import.py);
# removing them here keeps `import pyannote.audio` working for anything else run in this environment
# (the tests' tiny pyannote pipelines, notebooks). Its loader skips the extension when they are absent.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$site"/torchaudio/lib/*.so
PYANNOTE_METRICS_ENABLED=0 HF_HUB_OFFLINE=1 "$venv/bin/python" -c "import pyannote.audio, faster_whisper, duckdb, gradio" \
  2>/dev/null || { say "import check failed"; exit 1; }

echo "$inputs_hash" > "$stamp"
say "done: $venv"
