#!/usr/bin/env bash
# Benchmark: how long `strata promote plan --from dev --to staging` takes, and how much
# memory it uses, on a generated workspace of 1,000 stacks whose dev and staging release
# locks differ the way a busy release train's do (bench/gen_promotion.py: ~70% of the
# stacks at dev's hash in staging, ~25% at an older hash, ~5% new, a few stacks deleted from
# the repository but still in staging, and gates that hold some targets back).
#
#   bench/promote_plan.sh                  # 1,000 stacks, 10 timed runs per case
#   STACKS=5000 RUNS=20 bench/promote_plan.sh
#
# Settings (environment variables):
#   STACKS      stacks to generate (default 1000)
#   SEED        generator seed (default 42)
#   RUNS        timed runs per case (default 10; two warm-up runs before the warm cases)
#   STRATA      a strata binary to measure (default: builds target/release/strata)
#   KEEP        a directory to copy the results, the plan, the generator's summary and the
#               phase timings into (default: nothing is kept)
#
# Cases, each run in the generated workspace with STRATA_DAEMON=manual:
#   warm --out    strata promote plan --from dev --to staging --out FILE   (fact cache kept)
#   warm --json   strata --json promote plan --from dev --to staging       (stdout to /dev/null)
#   cold --out    the same with --no-cache, .strata/ deleted before every run
#   cold --json   likewise
#   reference     strata list (reads the workspace the same way, no locks, no plan)
# Each case reports the median, minimum and maximum wall time, the mean CPU time (strata
# and the git it runs) and the peak RSS of one extra run (/usr/bin/time -v; without it,
# bench/peak_rss.py, which samples /proc).
#
# Checks (the script exits 1 when one fails, after printing the results): two runs write
# byte-identical plan files; `--json` prints the same plan; the plan's steps, waves and
# blocked targets are those the generator computes from its own graph and locks.
#
# Everything happens in a temporary directory, removed on exit. Needs git, python3 and
# ssh-keygen; builds strata in release mode unless STRATA is set.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
STACKS=${STACKS:-1000}
SEED=${SEED:-42}
RUNS=${RUNS:-10}
KEEP=${KEEP:-}

# Ask a running daemon if there is one, start none (`promote plan` computes in process).
export STRATA_DAEMON=manual
unset STRATA_TIMINGS

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-promote-bench.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in git python3 ssh-keygen; do
    command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done

if [ -n "${STRATA:-}" ]; then
    strata=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")
else
    log "building strata (release)"
    (cd "$repo" && cargo build --release -q -p strata-cli)
    strata=$repo/target/release/strata
fi
strata_commit="commit $(git -C "$repo" rev-parse --short=12 HEAD)"
if [ -n "$(git -C "$repo" status --porcelain -- cli crates graph Cargo.toml Cargo.lock)" ]; then
    strata_commit="$strata_commit + uncommitted changes"
fi
if [ -n "${STRATA:-}" ]; then
    strata_commit="$strata (given; the repository is at $strata_commit)"
fi

# --- the workspace -------------------------------------------------------------------------
log "generating three approvers' SSH keys"
mkdir -p "$tmp/keys"
signers=$tmp/allowed_signers
: >"$signers"
for who in alice bob carol; do
    ssh-keygen -q -t ed25519 -N '' -C "$who@example.com" -f "$tmp/keys/$who"
    printf '%s namespaces="strata-promote" %s\n' "$who@example.com" \
        "$(cut -d' ' -f1,2 "$tmp/keys/$who.pub")" >>"$signers"
done

ws=$tmp/ws
log "generating $STACKS stacks (seed $SEED) in $ws"
python3 "$here/gen_promotion.py" --out "$ws" --stacks "$STACKS" --seed "$SEED" \
    --now "$(date +%s)" --signers "$signers" --author alice@example.com --meta "$tmp/meta.json"
cd "$ws"

# --- checks --------------------------------------------------------------------------------
failed=0
log "checking the plan"
"$strata" promote plan --from dev --to staging --out "$tmp/plan-1.json" >"$tmp/plan.txt" 2>"$tmp/plan.err"
"$strata" promote plan --from dev --to staging --out "$tmp/plan-2.json" >/dev/null 2>&1
"$strata" --json promote plan --from dev --to staging >"$tmp/plan-stdout.json" 2>/dev/null
if cmp -s "$tmp/plan-1.json" "$tmp/plan-2.json"; then
    identical="yes ($(wc -c <"$tmp/plan-1.json") bytes each)"
else
    identical="NO"; failed=1
    log "the two plan files differ:"; diff "$tmp/plan-1.json" "$tmp/plan-2.json" | head -20 >&2 || true
fi
python3 - "$tmp/plan-1.json" "$tmp/plan-stdout.json" "$tmp/meta.json" "$tmp/summary.json" <<'EOF' || failed=1
import json, sys
plan = json.load(open(sys.argv[1]))
printed = json.load(open(sys.argv[2]))
meta = json.load(open(sys.argv[3]))
printed.pop("schema_version", None)
gates = {}
for b in plan["blocked"]:
    gates[b["gate"]] = gates.get(b["gate"], 0) + 1
got = {
    "unchanged": plan["unchanged"],
    "steps": sum(len(w) for w in plan["waves"]),
    "waves": len(plan["waves"]),
    "blocked": len(plan["blocked"]),
    "blocked_by_gate": dict(sorted(gates.items())),
}
want = {k: meta["expected"][k] for k in got}
summary = dict(got, wave_sizes=[len(w) for w in plan["waves"]], outside=len(plan["outside"]),
               json_matches_file=printed == plan, matches_generator=got == want,
               expected=want, digest=plan["digest"])
json.dump(summary, open(sys.argv[4], "w"), indent=2)
ok = True
if printed != plan:
    print("`--json` printed a different plan from the one --out wrote", file=sys.stderr)
    ok = False
if got != want:
    print(f"the plan differs from the generator's expectation:\n  strata:    {got}\n  generator: {want}",
          file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF

# --- measurements --------------------------------------------------------------------------
# Percent of all CPUs busy over one second.
cpu_busy() {
    local a b
    read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# Waits (up to a minute) until other work leaves the CPUs mostly idle; prints the last reading.
wait_quiet() {
    local busy tries=0
    busy=$(cpu_busy)
    while [ "$busy" -gt 10 ] && [ $tries -lt 30 ]; do
        sleep 1; busy=$(cpu_busy); tries=$((tries + 1))
    done
    echo "$busy"
}

# measure NAME WARMUP PREPARE COMMAND...: RUNS timed runs (after WARMUP untimed ones), each
# after the shell command PREPARE; output to /dev/null. Writes $tmp/case-NAME.json.
measure() {
    local name=$1 warmup=$2 prepare=$3
    shift 3
    local busy
    busy=$(wait_quiet)
    log "  $name: $RUNS runs (CPUs ${busy}% busy before)"
    python3 - "$tmp/case-$name.json" "$name" "$RUNS" "$warmup" "$prepare" "$busy" "$@" <<'EOF'
import json, os, statistics, subprocess, sys, time
out, name, runs, warmup, prepare, busy, *cmd = sys.argv[1:]
runs, warmup = int(runs), int(warmup)
def once():
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{name}: {' '.join(cmd)} exited with {p.returncode}")
    return wall * 1000, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss
for _ in range(warmup):
    once()
samples = [once() for _ in range(runs)]
wall = [s[0] for s in samples]
json.dump({
    "name": name, "runs": runs, "busy_before": int(busy),
    "median_ms": statistics.median(wall), "mean_ms": statistics.mean(wall),
    "min_ms": min(wall), "max_ms": max(wall),
    "cpu_ms": statistics.mean(s[1] for s in samples),
    "max_rss_kib_timed_runs": max(s[2] for s in samples),
}, open(out, "w"))
EOF
}

# peak NAME PREPARE COMMAND...: peak RSS (KiB) of one run, after PREPARE.
peak() {
    local name=$1 prepare=$2
    shift 2
    (eval "$prepare")
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$tmp/time-$name.txt" "$@" >/dev/null 2>&1
        sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tmp/time-$name.txt" \
            >"$tmp/rss-$name.txt"
    else
        python3 "$here/peak_rss.py" -- "$@" 2>/dev/null \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_rss_kb"])' >"$tmp/rss-$name.txt"
    fi
}

plan_out=(promote plan --from dev --to staging --out "$tmp/plan.json")
plan_json=(--json promote plan --from dev --to staging)
cold="rm -rf '$ws/.strata'"

log "timing"
measure warm-out 2 "" "$strata" "${plan_out[@]}"
measure warm-json 2 "" "$strata" "${plan_json[@]}"
measure cold-out 0 "$cold" "$strata" --no-cache "${plan_out[@]}"
measure cold-json 0 "$cold" "$strata" --no-cache "${plan_json[@]}"
"$strata" list >/dev/null 2>&1  # the fact cache back for the reference case
measure reference-list 2 "" "$strata" list

log "peak memory"
peak warm-out "true" "$strata" "${plan_out[@]}"
peak warm-json "true" "$strata" "${plan_json[@]}"
peak cold-out "$cold" "$strata" --no-cache "${plan_out[@]}"
peak cold-json "$cold" "$strata" --no-cache "${plan_json[@]}"
"$strata" list >/dev/null 2>&1
peak reference-list "true" "$strata" list

log "phase timings (STRATA_TIMINGS=1)"
timed_phases() { # FILE PREPARE COMMAND...: phase lines, then the run's wall time
    local file=$1 prepare=$2 start end
    shift 2
    (eval "$prepare")
    start=$(date +%s%N)
    STRATA_TIMINGS=1 "$@" 2>"$file.err" >/dev/null
    end=$(date +%s%N)
    grep '^timing:' "$file.err" >"$file" || true
    echo "exit $(( (end - start) / 1000000 ))" >>"$file"
}
"$strata" list >/dev/null 2>&1
timed_phases "$tmp/phases-warm.txt" "true" "$strata" "${plan_out[@]}"
timed_phases "$tmp/phases-cold.txt" "$cold" "$strata" --no-cache "${plan_out[@]}"

# --- report --------------------------------------------------------------------------------
machine_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine_mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
python3 - "$tmp" "$STACKS" "$SEED" "$RUNS" "$strata_commit" "$identical" "$(nproc)" \
    "$machine_cpu" "$machine_mem" "$(uname -sr)" >"$tmp/results.md" <<'EOF'
import json, os, sys
tmp, stacks, seed, runs, commit, identical, nproc, cpu, mem, kernel = sys.argv[1:]
meta = json.load(open(f"{tmp}/meta.json"))
summary = json.load(open(f"{tmp}/summary.json"))
def case(name):
    c = json.load(open(f"{tmp}/case-{name}.json"))
    rss = open(f"{tmp}/rss-{name}.txt").read().strip()
    c["rss_mib"] = int(rss) / 1024 if rss else float("nan")
    return c
rows = [
    ("warm", "`promote plan --out plan.json`", "warm-out"),
    ("warm", "`--json promote plan` (stdout)", "warm-json"),
    ("cold: `--no-cache`, no `.strata/`", "`promote plan --out plan.json`", "cold-out"),
    ("cold: `--no-cache`, no `.strata/`", "`--json promote plan` (stdout)", "cold-json"),
    ("warm (reference)", "`list`: the same workspace read, no locks, no plan", "reference-list"),
]
p = print
p(f"# strata promote plan: {int(stacks):,} stacks\n")
p(f"strata {commit}; {nproc} CPUs ({cpu}), {mem}, {kernel}; seed {seed}; STRATA_DAEMON=manual.\n")
p(f"Workspace: {meta['stacks']:,} stacks in 4 layers (foundation {meta['layers']['0']}, "
  f"platform {meta['layers']['1']}, services {meta['layers']['2']}, dependent services "
  f"{meta['layers']['3']}), {meta['modules']} modules, {meta['edges']:,} dependency edges, "
  f"graph depth {meta['graph_depth']}, {meta['files']:,} files. Dependencies per stack: "
  + ", ".join(f"{k}: {v}" for k, v in meta["deps_per_stack"].items()) + ".\n")
p(f"Locks: dev {meta['dev_entries']:,} entries ({meta['dev_only']} dev-only); staging "
  f"{meta['staging_entries']:,}: {meta['staging_same']} at dev's hash, {meta['staging_differ']} "
  f"at an older hash, {meta['staging_missing']} missing, {meta['gone_from_dev']} gone from dev.\n")
gates = ", ".join(f"{g} {n}" for g, n in summary["blocked_by_gate"].items())
p(f"Plan: {summary['steps']} steps in {summary['waves']} waves "
  f"({' + '.join(map(str, summary['wave_sizes']))}), {summary['blocked']} blocked ({gates}), "
  f"{summary['unchanged']} unchanged. Matches the generator's own computation: "
  f"{'yes' if summary['matches_generator'] else 'NO'}. Two runs byte-identical: {identical}. "
  f"`--json` prints the same plan: {'yes' if summary['json_matches_file'] else 'NO'}.\n")
p(f"| state | command | median ms | min–max ms | mean ms | CPU ms | peak RSS MiB | runs | CPUs busy before |")
p("|---|---|---:|---:|---:|---:|---:|---:|---:|")
worst = 0
for state, cmd, name in rows:
    c = case(name)
    if name != "reference-list":
        worst = max(worst, c["max_ms"])
    p(f"| {state} | {cmd} | **{c['median_ms']:.1f}** | {c['min_ms']:.1f}–{c['max_ms']:.1f} | "
      f"{c['mean_ms']:.1f} | {c['cpu_ms']:.1f} | {c['rss_mib']:.1f} | {c['runs']} | {c['busy_before']}% |")
p(f"\nTarget \"well under a second\": slowest single plan run {worst:.0f} ms: "
  f"{'met' if worst < 1000 else 'NOT met'}.\n")
for label, f in (("warm", "phases-warm.txt"), ("cold", "phases-cold.txt")):
    lines = open(f"{tmp}/{f}").read().splitlines()
    wall = int(lines[-1].split()[1])
    phases = lines[:-1]
    last = 0.0
    for l in phases:
        parts = l.split()
        if "at" in parts:
            last = max(last, float(parts[parts.index("at") + 1]))
    p(f"Phase timings, {label} `--out` run (STRATA_TIMINGS=1; {wall} ms wall, the last phase "
      f"ends at {last:.0f} ms, after it: locks, plan, output):\n")
    p("```")
    for l in phases:
        p(l)
    p("```\n")
EOF
cat "$tmp/results.md"

if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    cp "$tmp/results.md" "$tmp/meta.json" "$tmp/summary.json" "$tmp/plan-1.json" "$tmp/plan.txt" \
        "$tmp"/case-*.json "$tmp"/phases-*.txt "$KEEP/"
    log "results kept in $KEEP"
fi
if [ "$failed" != 0 ]; then
    log "a check failed (see above)"
    exit 1
fi
log "done"
