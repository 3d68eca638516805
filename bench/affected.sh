#!/usr/bin/env bash
# Benchmark: how long `strata affected` takes on large synthetic workspaces, next to turbo
# (`turbo ls --affected`) and nx (`nx show projects --affected`) on the same workspace,
# whose npm packages mirror strata's targets and edges.
#
#   bench/affected.sh                       # 1k and 10k stacks, both file sizes
#   SIZES="1000" bench/affected.sh          # only 1k
#   FILE_SIZES=small bench/affected.sh      # only the small .tf files
#
# Settings (environment variables):
#   SIZES            stack counts to run (default "1000 10000")
#   FILE_SIZES       .tf file sizes to run each stack count with (default "small realistic"):
#                    small, the generator's short files (about 0.4 KB per .tf file), and
#                    realistic, `gen_workspace.py --file-size realistic` (about 2 KB per .tf
#                    file, like hand-written Terraform); the graph is the same for both
#   SEED             generator seed (default 42)
#   STRATA_RUNS      hyperfine runs per strata case (default 10)
#   OTHER_RUNS       hyperfine runs per turbo / nx case (default 5)
#   BENCH_WORKDIR    where workspaces are generated (default bench/out/workspaces)
#   KEEP_WORKSPACES  1 keeps the generated workspaces afterwards (default: removed)
#
# It builds strata in release mode, installs the pinned turbo and nx into bench/.tools,
# installs hyperfine and GNU time with apt-get when they are missing, and writes everything
# under bench/out/ (git-ignored): bench/out/<stacks>/ for the small files, as before, and
# bench/out/realistic/<stacks>/ for the realistic ones. The summary is
# bench/out/affected-results.md: with FILE_SIZES=small exactly the single report it always
# was; otherwise one section per file size and a table comparing strata's times between them.
# This is a benchmark, not a test: it fails only when a tool fails or cannot be installed.
set -euo pipefail

TURBO_VERSION=2.11.11
NX_VERSION=24.0.6

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
out=$here/out
tools=$here/.tools
SIZES=${SIZES:-"1000 10000"}
FILE_SIZES=${FILE_SIZES:-"small realistic"}
SEED=${SEED:-42}
STRATA_RUNS=${STRATA_RUNS:-10}
OTHER_RUNS=${OTHER_RUNS:-5}
workdir=${BENCH_WORKDIR:-$out/workspaces}
started=$(date +%s)

# strata computes every answer itself and starts no daemon, except in the daemon cases.
export STRATA_DAEMON=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$@" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

[ -n "${FILE_SIZES// /}" ] || { log "FILE_SIZES is empty"; exit 1; }
for fs in $FILE_SIZES; do
    case $fs in
        small | realistic) ;;
        *) log "FILE_SIZES: unknown file size '$fs' (small or realistic)"; exit 1 ;;
    esac
done

# Results of one file size: bench/out for the small files (the layout from before there was a
# choice), bench/out/<file size> for the others.
fs_out() { if [ "$1" = small ]; then echo "$out"; else echo "$out/$1"; fi; }

mkdir -p "$out" "$workdir"

# --- tools -----------------------------------------------------------------------------------
command -v hyperfine >/dev/null || { log "installing hyperfine"; apt_install hyperfine; }
[ -x /usr/bin/time ] || { log "installing GNU time"; apt_install time; }
command -v node >/dev/null || { log "node is required for turbo and nx"; exit 1; }

installed_version() { # package -> version installed in bench/.tools, or nothing
    node -p "require('$tools/node_modules/$1/package.json').version" 2>/dev/null || true
}
if [ "$(installed_version turbo)" != "$TURBO_VERSION" ] || [ "$(installed_version nx)" != "$NX_VERSION" ]; then
    log "installing turbo@$TURBO_VERSION nx@$NX_VERSION into bench/.tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --save-exact --loglevel=error \
        "turbo@$TURBO_VERSION" "nx@$NX_VERSION" >/dev/null
fi
# The native turbo binary, not the node launcher in node_modules/.bin, so that node start-up
# is not counted against turbo.
turbo=$tools/node_modules/.bin/turbo
for candidate in "$tools"/node_modules/@turbo/*/bin/turbo; do
    if [ -x "$candidate" ]; then turbo=$candidate; break; fi
done
nx_js=$tools/node_modules/nx/dist/bin/nx.js

log "building strata (release)"
(cd "$repo" && cargo build --release -q -p strata-cli)
strata=${CARGO_TARGET_DIR:-$repo/target}/release/strata
strata_commit=$(git -C "$repo" rev-parse --short=12 HEAD)
if [ -n "$(git -C "$repo" status --porcelain -- cli graph Cargo.toml Cargo.lock)" ]; then
    strata_commit="$strata_commit (with uncommitted changes in cli/ or graph/)"
fi

# Every tool runs without network: a new network namespace when the machine allows one.
offline=()
if unshare -n true 2>/dev/null; then
    offline=(unshare -n)
else
    log "warning: cannot create a network namespace; tools run with the network available"
fi

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1 TURBO_SCM_BASE=main
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
export NO_COLOR=1

python3 - "$out/environment.json" <<EOF
import json, os, platform, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
env = {
    "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "cpu": sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p'"),
    "nproc": sh("nproc"),
    "memory": sh("free -h | awk '/^Mem:/ {print \$2}'"),
    "kernel": sh("uname -sr"),
    "rustc": sh("rustc --version"),
    "node": sh("node --version"),
    "npm": sh("npm --version"),
    "git": sh("git --version"),
    "python": platform.python_version(),
    "hyperfine": sh("hyperfine --version"),
    "strata_commit": "$strata_commit",
    "turbo": sh("'$turbo' --version 2>/dev/null | tail -n 1"),
    "nx": "$NX_VERSION",
    "offline": "${offline[*]:-no}",
    "seed": $SEED,
    "strata_runs": $STRATA_RUNS,
    "other_runs": $OTHER_RUNS,
    "file_sizes": "$FILE_SIZES",
}
json.dump(env, open(sys.argv[1], "w"), indent=2)
EOF
for fs in $FILE_SIZES; do
    if [ "$fs" != small ]; then
        mkdir -p "$(fs_out "$fs")"
        cp "$out/environment.json" "$(fs_out "$fs")/environment.json"
    fi
done

# Percent of all CPUs busy over one second (this script is idle meanwhile).
cpu_busy() {
    local a b
    read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Waits (up to two minutes) until other work leaves the CPUs mostly idle; prints the last
# reading.
wait_quiet() {
    local busy tries=0
    busy=$(cpu_busy)
    while [ "$busy" -gt 10 ] && [ $tries -lt 120 ]; do
        sleep 1; busy=$(cpu_busy); tries=$((tries + 2))
    done
    echo "$busy"
}

# --- one size --------------------------------------------------------------------------------
# hyperfine CASE RUNS [hyperfine options...] -- COMMAND...
bench_case() {
    local name=$1 runs=$2
    shift 2
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    local busy
    busy=$(wait_quiet)
    log "  $name: $runs runs (CPUs ${busy}% busy before)"
    "${offline[@]}" hyperfine -N --style basic --runs "$runs" "${opts[@]}" \
        --export-json "$res/hf-$name.json" -n "$name" "$*" >"$res/hf-$name.log" 2>&1 || {
        log "  $name failed:"; cat "$res/hf-$name.log" >&2; return 1; }
    # CPU use by other work just before the case, to spot interference.
    echo "$name $busy" >>"$res/load.txt"
    grep -E 'Time \(mean' "$res/hf-$name.log" | sed 's/^/    /' >&2 || true
}

# memory CASE PREPARE COMMAND...: peak RSS of one run, after PREPARE (a shell command).
memory_case() {
    local name=$1 prepare=$2
    shift 2
    (eval "$prepare") && "${offline[@]}" /usr/bin/time -f %M -o "$res/rss-$name.txt" "$@" >/dev/null 2>/dev/null
    (eval "$prepare") && "${offline[@]}" python3 "$here/peak_rss.py" -- "$@" >"$res/tree-$name.json" 2>/dev/null
}

for fs in $FILE_SIZES; do
    for n in $SIZES; do
        res=$(fs_out "$fs")/$n
        ws=$workdir/ws-$n
        if [ "$fs" != small ]; then ws=$ws-$fs; fi
        rm -rf "$res"
        mkdir -p "$res"
        log "generating $n stacks (seed $SEED, $fs .tf files) in $ws"
        t0=$(date +%s.%N)
        python3 "$here/gen_workspace.py" --stacks "$n" --seed "$SEED" --file-size "$fs" --out "$ws" \
            --force --quiet
        t1=$(date +%s.%N)
        files=$(git -C "$ws" ls-files | wc -l)
        python3 -c 'import json,sys; json.dump({"seconds": float(sys.argv[2]) - float(sys.argv[1]), "files": int(sys.argv[3])}, open(sys.argv[4], "w"))' \
            "$t0" "$t1" "$files" "$res/gen.json"
        cp "$ws/bench-meta.json" "$res/meta.json"
        changed=$("$here/change_one_module.sh" "$ws")
        log "changed $changed"
        # nx needs to find itself in the workspace's node_modules; the link is git-ignored.
        ln -sfn "$tools/node_modules" "$ws/node_modules"
        status=$(git -C "$ws" status --porcelain)
        if [ "$status" != " M $changed" ]; then
            log "unexpected work-tree state in $ws:"; printf '%s\n' "$status" >&2; exit 1
        fi

        cd "$ws"
        log "affected sets (one run each)"
        rm -rf .strata .nx .turbo
        "${offline[@]}" "$strata" affected --base main --json >"$res/affected-strata.json"
        "${offline[@]}" "$turbo" ls --affected --output=json >"$res/affected-turbo.json" 2>/dev/null
        "${offline[@]}" node "$nx_js" show projects --affected --base=main --json >"$res/affected-nx.json"

        log "timing"
        bench_case strata-cold "$STRATA_RUNS" --prepare "rm -rf $ws/.strata" -- \
            "$strata" affected --base main --json
        bench_case strata-warm "$STRATA_RUNS" --warmup 2 -- "$strata" affected --base main --json
        bench_case strata-edit "$STRATA_RUNS" --warmup 1 --prepare "$here/edit_again.sh $ws/$changed" -- \
            "$strata" affected --base main --json
        # The same questions answered by a daemon holding the graph in memory (`strata daemon`).
        log "starting strata daemon"
        export STRATA_DAEMON=manual
        t0=$(date +%s.%N)
        "$strata" daemon start 2>>"$res/daemon.log"
        t1=$(date +%s.%N)
        python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1" >"$res/daemon-start.txt"
        daemon_pid=$("$strata" --json daemon status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
        bench_case strata-daemon "$STRATA_RUNS" --warmup 2 -- "$strata" affected --base main --json
        bench_case strata-daemon-edit "$STRATA_RUNS" --warmup 1 --prepare "$here/edit_again.sh $ws/$changed" -- \
            "$strata" affected --base main --json
        "$strata" affected --base main --json >"$res/affected-strata-daemon.json"
        STRATA_DAEMON=0 "$strata" affected --base main --json >"$res/affected-strata-now.json"
        memory_case strata-daemon "true" "$strata" affected --base main --json
        memory_case strata-daemon-edit "$here/edit_again.sh $ws/$changed" "$strata" affected --base main --json
        grep -E '^Vm(HWM|RSS):' "/proc/$daemon_pid/status" | awk '{print $2}' | paste -sd' ' >"$res/daemon-rss.txt"
        "$strata" daemon stop 2>>"$res/daemon.log"
        export STRATA_DAEMON=0
        if ! cmp -s "$res/affected-strata-now.json" "$res/affected-strata-daemon.json"; then
            log "the daemon's answer differs from the in-process one"; exit 1
        fi

        bench_case turbo-cold "$OTHER_RUNS" --prepare "rm -rf $ws/.turbo" -- \
            "$turbo" ls --affected --output=json
        bench_case turbo-warm "$OTHER_RUNS" --warmup 1 -- "$turbo" ls --affected --output=json
        bench_case nx-cold "$OTHER_RUNS" --prepare "rm -rf $ws/.nx" -- \
            node "$nx_js" show projects --affected --base=main --json
        bench_case nx-warm "$OTHER_RUNS" --warmup 1 -- \
            node "$nx_js" show projects --affected --base=main --json

        log "peak memory"
        memory_case strata-cold "rm -rf .strata" "$strata" affected --base main --json
        memory_case strata-warm "true" "$strata" affected --base main --json
        memory_case strata-edit "$here/edit_again.sh $ws/$changed" "$strata" affected --base main --json
        memory_case turbo-cold "rm -rf .turbo" "$turbo" ls --affected --output=json
        memory_case turbo-warm "true" "$turbo" ls --affected --output=json
        memory_case nx-cold "rm -rf .nx" node "$nx_js" show projects --affected --base=main --json
        memory_case nx-warm "true" node "$nx_js" show projects --affected --base=main --json
        cd "$repo"

        if [ "${KEEP_WORKSPACES:-0}" != 1 ]; then
            rm -rf "$ws"
        fi
    done
done

elapsed=$(( $(date +%s) - started ))
if [ "$FILE_SIZES" = small ]; then
    python3 "$here/report.py" "$out" --sizes "$SIZES" --elapsed "$elapsed" >"$out/affected-results.md"
else
    # One report per file size under a heading each (the run's description only in the first),
    # then strata's times side by side.
    {
        echo "# strata affected: benchmark results"
        first=1
        for fs in $FILE_SIZES; do
            echo
            echo "## $fs .tf files"
            python3 "$here/report.py" "$(fs_out "$fs")" --sizes "$SIZES" | python3 -c '
import sys
lines = sys.stdin.read().splitlines()[1:]  # without the title
if sys.argv[1] != "1":
    table = [i for i, l in enumerate(lines) if l.startswith("| stacks |")]
    lines = [""] + lines[table[0]:] if table else lines
print("\n".join(lines))' "$first"
            first=0
        done
        echo
        python3 - "$out" "$SIZES" "$FILE_SIZES" <<'EOF'
import json, os, sys
out, sizes, file_sizes = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
CASES = ["strata-cold", "strata-warm", "strata-edit", "strata-daemon", "strata-daemon-edit"]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def median_ms(res, case):
    hf = load(os.path.join(res, f"hf-{case}.json"))
    return "–" if hf is None else f"{hf['results'][0]['median'] * 1000:.0f}"

print("## strata by .tf file size")
print()
print("Median ms of strata's cases (the sections above have spreads, CPU and memory). Both "
      "file sizes have the same targets and edges, so the same affected set.")
print()
print("| stacks | .tf files | .tf bytes | bytes per .tf file | generated in s | "
      + " | ".join(CASES) + " | daemon start s |")
print("|---:|---|---:|---:|---:|" + "---:|" * len(CASES) + "---:|")
for n in sizes:
    for fs in file_sizes:
        res = os.path.join(out if fs == "small" else os.path.join(out, fs), n)
        meta = load(os.path.join(res, "meta.json")) or {}
        gen = load(os.path.join(res, "gen.json")) or {}
        try:
            with open(os.path.join(res, "daemon-start.txt")) as f:
                start = f"{float(f.read().strip()):.2f}"
        except (OSError, ValueError):
            start = "–"
        print(f"| {n} | {fs}: {meta.get('tf_files', '?')} | {meta.get('tf_bytes', '?')} "
              f"| {meta.get('tf_mean_bytes', '?')} | {gen.get('seconds', 0):.1f} | "
              + " | ".join(median_ms(res, c) for c in CASES) + f" | {start} |")
EOF
        echo
        echo "Whole script: $((elapsed / 60)) min $((elapsed % 60)) s."
    } >"$out/affected-results.md"
fi
cat "$out/affected-results.md"
log "done in ${elapsed}s; results in bench/out/affected-results.md"
