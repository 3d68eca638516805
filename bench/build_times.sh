#!/usr/bin/env bash
# Build times of strata at several commits: a clean debug build of the binary, then the
# rebuild after an edit to one file of the CLI (cli/src/main.rs) and then one of the graph
# core (graph/src/affected.rs), plus lines of Rust per crate. The edit adds a function before
# the file's first one, so every item after it moves (as a real edit does; a comment at the
# end would change nothing the compiler looks at).
#
#   bench/build_times.sh [COMMIT...]
#
# The commits default to the one before the code was split into crates by concern, the split
# itself (the same code in crates) and HEAD. Each is built in its own temporary worktree with
# its own target directory, one after the other, with the same toolchain and the crates
# already downloaded (fetch time is not build time). Results go to
# bench/out/build_times.json.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
if [ $# -eq 0 ]; then set -- 759c5b3a^ 759c5b3a HEAD; fi
work="$(mktemp -d)"
cleanup() {
  for d in "$work"/wt-*; do
    [ -d "$d" ] && git -C "$repo" worktree remove --force "$d" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

seconds() { # seconds COMMAND...: wall time of COMMAND, in seconds with one decimal
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 1))"
}

edit() { # edit FILE: a new function before the file's first top-level one
  python3 - "$1" <<'EOF'
import re, sys
path = sys.argv[1]
lines = open(path).read().split("\n")
at = next(i for i, l in enumerate(lines) if re.match(r"(pub(\(crate\))? )?fn ", l))
lines.insert(at, "#[allow(dead_code)]\nfn bench_edit() -> u32 {\n    42\n}\n")
open(path, "w").write("\n".join(lines))
EOF
}

measure() { # measure NAME COMMIT
  local name="$1" commit="$2" dir="$work/wt-$1"
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
rows="$work/rows.jsonl"
for commit in "$@"; do
  measure "$commit" "$commit" >>"$rows"
done
python3 - "$rows" "$here/out/build_times.json" <<'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"cpus": os.cpu_count(), "runs": rows}, open(sys.argv[2], "w"), indent=2)
for r in rows:
    print("{name:<10} {commit}  clean {clean_s:>6.1f} s   CLI edit {after_cli_edit_s:>5.1f} s   "
          "core edit {after_core_edit_s:>5.1f} s   {total:,} lines in {n} crates".format(
              total=r["total_lines"], n=len(r["lines"]), **r))
    for crate, lines in sorted(r["lines"].items(), key=lambda kv: -kv[1]):
        print(f"        {crate:<16} {lines:>7,}")
EOF
