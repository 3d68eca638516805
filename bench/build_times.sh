#!/usr/bin/env bash
# Build times of strata at two commits: a clean debug build of the binary, then the rebuild
# after an edit to one file of the CLI and one of the graph core (a comment appended, as a
# contributor's edit would change the file), plus lines of Rust per crate.
#
#   bench/build_times.sh [BEFORE [AFTER]]
#
# BEFORE defaults to the commit before the code was split into crates by concern, AFTER to
# HEAD. Each commit is built in its own temporary worktree with its own target directory,
# one after the other, with the same toolchain and the crates already downloaded (fetch
# time is not build time). Results go to bench/out/build_times.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
before="${1:-759c5b3a^}"
after="${2:-HEAD}"
work="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$work/before" >/dev/null 2>&1 || true; git -C "$repo" worktree remove --force "$work/after" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

seconds() { # seconds COMMAND...: wall time of COMMAND, in seconds with one decimal
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 1))"
}

edit() { printf '\n// an edit\n' >>"$1"; }

measure() { # measure NAME COMMIT
  local name="$1" commit="$2" dir="$work/$1"
  git -C "$repo" worktree add --detach -q "$dir" "$commit"
  export CARGO_TARGET_DIR="$dir/target"
  (cd "$dir" && cargo fetch -q)
  local clean cli core
  clean=$(cd "$dir" && seconds cargo build --offline --bins)
  edit "$dir/cli/src/main.rs"
  cli=$(cd "$dir" && seconds cargo build --offline --bins)
  edit "$dir/graph/src/affected.rs"
  core=$(cd "$dir" && seconds cargo build --offline --bins)
  local lines
  lines=$(cd "$dir" && for c in cli graph crates/*; do
    [ -d "$c/src" ] || continue
    printf '%s %s\n' "$c" "$(find "$c/src" -name '*.rs' -print0 | xargs -0 cat | wc -l)"
  done)
  python3 - "$name" "$(git -C "$repo" rev-parse --short "$commit")" "$clean" "$cli" "$core" "$lines" <<'EOF'
import json, sys
name, commit, clean, cli, core, lines = sys.argv[1:]
crates = {l.split()[0]: int(l.split()[1]) for l in lines.splitlines() if l.strip()}
print(json.dumps({"name": name, "commit": commit, "clean_s": float(clean),
                  "after_cli_edit_s": float(cli), "after_core_edit_s": float(core),
                  "lines": crates, "total_lines": sum(crates.values())}))
EOF
  unset CARGO_TARGET_DIR
}

mkdir -p "$here/out"
{
  measure before "$before"
  measure after "$after"
} | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
out = {"machine": open("/proc/cpuinfo").read().count("processor\t:"), "runs": rows}
json.dump(out, open(sys.argv[1], "w"), indent=2)
for r in rows:
    print(f"{r[\"name\"]:<7} {r[\"commit\"]}  clean {r[\"clean_s\"]:>6.1f} s   CLI edit {r[\"after_cli_edit_s\"]:>5.1f} s   core edit {r[\"after_core_edit_s\"]:>5.1f} s   {r[\"total_lines\"]:,} lines in {len(r[\"lines\"])} crates")
' "$here/out/build_times.json"
