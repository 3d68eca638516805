#!/usr/bin/env bash
# Compare strata's built-in policy pack with Checkov on bench/compliance/corpus: the same
# files, findings per (file, Checkov id, resource), and wall time (median of RUNS runs).
#
#   bench/compliance/compare.sh            # from anywhere in the repository
#
# Environment:
#   CHECKOV_VERSION   Checkov release installed from PyPI (default: the pinned one below)
#   RUNS              timed runs per command (default 3)
#   SCALE             also time both tools on SCALE copies of the corpus (default 10, 0: skip)
#   STRATA_BUILD=0    use the binaries already in target/ instead of running cargo build
#
# Writes bench/compliance/out/{results.md,results.json} (plus the raw JSON of each tool and
# timing.json). Takes about two minutes on 2 cores.
# Checkov runs offline: --skip-download, no API key, no update check.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Pinned: the newest release on PyPI when the comparison was written (pip index versions checkov).
CHECKOV_VERSION=${CHECKOV_VERSION:-3.3.30}
RUNS=${RUNS:-3}
SCALE=${SCALE:-10}
VENV=$HERE/.venv

log() { printf '==> %s\n' "$*" >&2; }

# --- Checkov, in its own virtualenv ------------------------------------------------------
if [[ "$("$VENV/bin/checkov" --version 2>/dev/null || true)" != "$CHECKOV_VERSION" ]]; then
  log "installing checkov $CHECKOV_VERSION into ${VENV#"$ROOT"/}"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
log "checkov $("$VENV/bin/checkov" --version)"

# --- strata: the debug binary (what developers run) and the release binary ----------------
if [[ "${STRATA_BUILD:-1}" != 0 ]]; then
  log "cargo build -p strata-cli (debug and release)"
  (cd "$ROOT" && cargo build --quiet -p strata-cli && cargo build --quiet --release -p strata-cli)
fi
for bin in "$ROOT/target/release/strata" "$ROOT/target/debug/strata"; do
  [[ -x "$bin" ]] || { echo "missing $bin (run cargo build -p strata-cli [--release])" >&2; exit 2; }
done

# --- Run, time and compare ---------------------------------------------------------------
unset BC_API_KEY PRISMA_API_URL
python3 "$HERE/compare.py" \
  --checkov "$VENV/bin/checkov" \
  --strata "release=$ROOT/target/release/strata" \
  --strata "debug=$ROOT/target/debug/strata" \
  --runs "$RUNS" \
  --scale "$SCALE"
