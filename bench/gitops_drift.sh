#!/usr/bin/env bash
# Benchmark: `strata gitops render` over 1,000 charts, and how `strata drift` schedules the
# terraform plans of an environment's release lock.
#
#   bench/gitops_drift.sh                          # 1,000 charts; drift over 100 stacks
#   STACKS="100 200" bench/gitops_drift.sh         # drift at two sizes (and a linear fit)
#   PARTS=drift STACKS=200 STRATA=/path/to/strata bench/gitops_drift.sh
#
# Settings (environment variables):
#   PARTS       what to measure: "gitops drift" (default), "gitops" or "drift"
#   CHARTS      application charts to generate (default 1000; plus two library charts)
#   STACKS      stack counts to measure drift at, space-separated (default "100")
#   SEED        generator seed (default 42)
#   RUNS        timed warm renders per format (default 7, after one untimed run)
#   DRIFT_RUNS  timed drift runs per stack count (default 3)
#   LOOP        1 (default): also time a plain loop of terraform init/plan/show over the
#               same stacks, two at a time; 0: skip it
#   STRATA      a strata binary to measure (default: a release build of a `git archive HEAD`
#               snapshot, with CARGO_TARGET_DIR defaulting to
#               ${TMPDIR:-/tmp}/strata-bench-target, kept for the next run; never target/)
#   KEEP        a directory to copy the results, the generators' summaries, the drift
#               reports, the tool logs and the phase timings into (default: nothing kept)
#
# Workspaces (bench/gen_gitops_drift.py; the toolchain of this repository's WORKSPACE.toml,
# `.tools` linked to this repository's, the null provider from its offline mirror):
#   charts  CHARTS application charts (platform and observability library charts shared
#           through `file://` dependencies, chart.toml `deps` between charts, values per
#           chart and for dev), `[gitops] repo_url` set.
#   stacks  N null-provider stacks in three layers reading each other's outputs.
#
# GitOps render (STRATA_DAEMON=manual, so no daemon is started):
#   cold    once, empty cache: `strata --json gitops render --env dev --out DIR` (argocd)
#           renders every chart with helm; wall and CPU time (strata and everything it
#           runs), the largest process's peak RSS, strata's own peak and CPU (STRATA_TIMINGS).
#   warm    for each format (argocd, argocd-appset, flux-kustomize, flux-helm): RUNS renders
#           with everything cached, into the same DIR (replaced whole each time); median,
#           min-max, CPU, peak RSS; files written; two renders byte-identical (diff -r), and
#           the cold argocd output identical to the warm one; one more run with
#           STRATA_TIMINGS=1 for the phases.
#   helm    a second cold render with `.tools/bin/helm` wrapped by a script that logs each
#           helm process's start, end and CPU: helm's share of the cold render.
# Drift, for each N in STACKS:
#   apply   `strata apply --env dev --auto-approve` once (records the lock; committed).
#   drift   DRIFT_RUNS x `strata --json drift --env dev -j 2` (never cached): every stack in
#           sync, exit 0; median wall and CPU.
#   split   one more drift with `.tools/bin/terraform` wrapped (start, end, CPU of each
#           terraform process) and STRATA_TIMINGS=1: strata's own time is the wall time minus
#           the terraform time packed into the 2 job slots.
#   loop    (LOOP=1) the same init + plan -out + show -json per stack, two at a time, from a
#           checkout of the locked commit, with the same backend override, tfvars and
#           upstream outputs as TF_VAR_* (read from the state files).
# Before each case the script waits (up to 30 s) until the CPUs are at most 10% busy, and
# every run records how busy other processes kept the CPUs while it ran.
#
# strata runs with TMPDIR inside the script's temporary directory (its temporary worktrees
# and its machine-wide terraform init lock live there), removed on exit with everything
# else. Needs git, python3 (3.11+) and the pinned tools (scripts/bootstrap).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
PARTS=${PARTS:-gitops drift}
CHARTS=${CHARTS:-1000}
STACKS=${STACKS:-100}
SEED=${SEED:-42}
RUNS=${RUNS:-7}
DRIFT_RUNS=${DRIFT_RUNS:-3}
LOOP=${LOOP:-1}
KEEP=${KEEP:-}

export STRATA_DAEMON=manual
unset STRATA_TIMINGS TF_CLI_CONFIG_FILE TF_PLUGIN_CACHE_DIR STRATA_PLUGIN_CACHE_DIR

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-gitops-drift-bench.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in git python3; do
    command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done
for tool in terraform helm; do
    [ -x "$repo/.tools/bin/$tool" ] || { log "$repo/.tools/bin/$tool is missing: run scripts/bootstrap"; exit 1; }
done

strata_commit="commit $(git -C "$repo" rev-parse --short=12 HEAD)"
if [ -n "${STRATA:-}" ]; then
    strata=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")
    strata_commit="$strata (given; the repository is at $strata_commit)"
else
    log "building strata (release) from a snapshot of HEAD"
    mkdir -p "$tmp/src"
    git -C "$repo" archive HEAD | tar -x -C "$tmp/src"
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${TMPDIR:-/tmp}/strata-bench-target}
    cargo build --release -q --manifest-path "$tmp/src/Cargo.toml" -p strata-cli
    strata=$CARGO_TARGET_DIR/release/strata
fi

mkdir -p "$tmp/tmp" "$tmp/results"
export TMPDIR=$tmp/tmp
res=$tmp/results

# --- helpers -------------------------------------------------------------------------------
# measure.py OUT NAME RUNS WARMUP STDOUT STDERR OKCODES CMD...: RUNS timed runs after WARMUP
# untimed ones; wall (around spawn and wait4), CPU and peak RSS from wait4 (strata and
# everything it ran; RSS of the largest process), how busy other processes kept the CPUs.
cat >"$tmp/measure.py" <<'EOF'
import json, os, statistics, subprocess, sys, time
out, name, runs, warmup, stdout, stderr, okcodes, *cmd = sys.argv[1:]
runs, warmup = int(runs), int(warmup)
ok = {int(c) for c in okcodes.split(",")}
hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count()
def busy():
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:9]))
    return (sum(v) - v[3] - v[4]) / hz
def once():
    with open(stdout or os.devnull, "wb") as o, open(stderr or os.devnull, "wb") as e:
        b0, t0 = busy(), time.time()
        p = subprocess.Popen(cmd, stdout=o, stderr=e)
        _, status, ru = os.wait4(p.pid, 0)
        t1, b1 = time.time(), busy()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"{name}: {' '.join(cmd)} exited with {code} (see {stderr or 'its stderr'})")
    cpu = ru.ru_utime + ru.ru_stime
    others = max(0.0, (b1 - b0) - cpu)
    return {"start": t0, "end": t1, "wall_ms": (t1 - t0) * 1000, "cpu_ms": cpu * 1000,
            "max_rss_kib": ru.ru_maxrss, "code": code,
            "others_pct": 100 * others / ((t1 - t0) * ncpu)}
for _ in range(warmup):
    once()
samples = [once() for _ in range(runs)]
wall = [s["wall_ms"] for s in samples]
json.dump({"name": name, "runs": runs, "samples": samples,
           "median_ms": statistics.median(wall), "min_ms": min(wall), "max_ms": max(wall),
           "cpu_ms": statistics.mean(s["cpu_ms"] for s in samples),
           "max_rss_kib": max(s["max_rss_kib"] for s in samples),
           "others_pct": statistics.mean(s["others_pct"] for s in samples)}, open(out, "w"))
EOF

# Percent of all CPUs busy over one second.
cpu_busy() {
    local a b
    read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# Waits (up to 30 s) until other work leaves the CPUs mostly idle; prints the last reading.
wait_quiet() {
    local busy tries=0
    busy=$(cpu_busy)
    while [ "$busy" -gt 10 ] && [ $tries -lt 15 ]; do
        sleep 1; busy=$(cpu_busy); tries=$((tries + 1))
    done
    echo "$busy"
}
# measure NAME RUNS WARMUP STDOUT STDERR OKCODES CMD...
measure() {
    local name=$1 busy
    busy=$(wait_quiet)
    echo "$busy" >"$res/busy-$name"
    log "  $name: $2 run(s) (CPUs ${busy}% busy before)"
    python3 "$tmp/measure.py" "$res/case-$name.json" "$@"
}
# A tools directory whose terraform and helm record each process they run (start, end,
# exit code, directory, then bash's `times`: the process's CPU) in LOGDIR/<pid>.
make_wrapped_tools() { # DIR LOGDIR
    local dir=$1 logdir=$2 tool
    mkdir -p "$dir/bin" "$logdir"
    ln -s "$repo/.tools/terraform.rc" "$dir/terraform.rc"
    for tool in terraform helm; do
        cat >"$dir/bin/$tool" <<EOF
#!/usr/bin/env bash
# Runs the pinned $tool; records when it ran and the CPU it used.
start=\$EPOCHREALTIME
"$repo/.tools/bin/$tool" "\$@"
rc=\$?
end=\$EPOCHREALTIME
{ printf '%s %s %s %s %s\n' "\$start" "\$end" "\${1:-none}" "\$rc" "\$PWD"; times; } >>"$logdir/\$\$"
exit "\$rc"
EOF
        chmod +x "$dir/bin/$tool"
    done
}
commit_all() { # DIR MESSAGE
    git -C "$1" add -A
    GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@strata.invalid GIT_COMMITTER_NAME=bench \
        GIT_COMMITTER_EMAIL=bench@strata.invalid git -C "$1" commit -q --no-verify --no-gpg-sign -m "$2"
}

failed=0
export STRATA_STATE_DIR=$tmp/state

# --- GitOps render -------------------------------------------------------------------------
if [[ " $PARTS " == *" gitops "* ]]; then
    ws=$tmp/charts
    log "generating $CHARTS charts (seed $SEED)"
    python3 "$here/gen_gitops_drift.py" charts --out "$ws" --charts "$CHARTS" --seed "$SEED" \
        --meta "$res/charts-meta.json" 2>/dev/null
    ln -s "$repo/.tools" "$ws/.tools"
    cd "$ws"
    render=("$strata" --json gitops render --env dev)

    log "cold render (every chart through helm)"
    measure gitops-cold 1 0 "$res/cold.json" "$res/cold.err" 0 \
        env STRATA_TIMINGS=1 "${render[@]}" --out "$tmp/out-cold"

    log "warm renders"
    for f in argocd argocd-appset flux-kustomize flux-helm; do
        measure "gitops-warm-$f" "$RUNS" 1 "$res/warm-$f.json" "" 0 \
            "${render[@]}" --format "$f" --out "$tmp/out-$f"
        "${render[@]}" --format "$f" --out "$tmp/out-$f-again" >/dev/null 2>&1
        if diff -r "$tmp/out-$f" "$tmp/out-$f-again" >/dev/null; then
            echo yes >"$res/identical-$f"
        else
            echo NO >"$res/identical-$f"; failed=1
            log "two warm $f renders differ:"; diff -r "$tmp/out-$f" "$tmp/out-$f-again" | head -20 >&2 || true
        fi
        find "$tmp/out-$f" -type f | wc -l >"$res/files-$f"
        du -sb "$tmp/out-$f" | cut -f1 >"$res/bytes-$f"
        measure "gitops-phases-$f" 1 0 "" "$res/phases-warm-$f.err" 0 \
            env STRATA_TIMINGS=1 "${render[@]}" --format "$f" --out "$tmp/out-$f"
    done
    if diff -r "$tmp/out-cold" "$tmp/out-argocd" >/dev/null; then
        echo yes >"$res/identical-cold"
    else
        echo NO >"$res/identical-cold"; failed=1
        log "the cold and warm argocd outputs differ:"; diff -r "$tmp/out-cold" "$tmp/out-argocd" | head -20 >&2 || true
    fi
    measure gitops-list "$RUNS" 1 "" "" 0 "$strata" list

    log "cold render again, helm's processes logged"
    make_wrapped_tools "$tmp/tools-helm" "$res/helm-log"
    rm "$ws/.tools" && ln -s "$tmp/tools-helm" "$ws/.tools"
    rm -rf "$ws/.strata"
    measure gitops-cold-logged 1 0 "" "$res/cold-logged.err" 0 \
        "${render[@]}" --out "$tmp/out-cold-logged"
    rm "$ws/.tools" && ln -s "$repo/.tools" "$ws/.tools"
    if diff -r "$tmp/out-cold" "$tmp/out-cold-logged" >/dev/null; then
        echo yes >"$res/identical-cold2"
    else
        echo NO >"$res/identical-cold2"; failed=1
    fi
    cd "$tmp"
    rm -rf "$tmp"/out-* "$ws/.strata"
fi

# --- drift ---------------------------------------------------------------------------------
if [[ " $PARTS " == *" drift "* ]]; then
    for n in $STACKS; do
        ws=$tmp/stacks-$n
        export STRATA_STATE_DIR=$tmp/state-$n
        log "generating $n stacks (seed $SEED)"
        python3 "$here/gen_gitops_drift.py" stacks --out "$ws" --stacks "$n" --seed "$SEED" \
            --meta "$res/stacks-$n-meta.json" 2>/dev/null
        ln -s "$repo/.tools" "$ws/.tools"
        cd "$ws"
        log "apply dev ($n stacks)"
        measure "apply-$n" 1 0 "$res/apply-$n.out" "$res/apply-$n.err" 0 \
            "$strata" apply --env dev --auto-approve
        entries=$(grep -c '^\[targets\."[^"]*"\]$' environments/dev/release.lock.toml || true)
        if [ "$entries" != "$n" ]; then
            log "the lock has $entries entries, not $n:"; tail -20 "$res/apply-$n.err" >&2; exit 1
        fi
        commit_all "$ws" "release lock of dev"

        log "drift ($n stacks, -j 2)"
        measure "drift-$n" "$DRIFT_RUNS" 0 "$res/drift-$n.json" "$res/drift-$n.err" 0 \
            "$strata" --json drift --env dev -j 2

        log "drift once more, terraform's processes logged"
        make_wrapped_tools "$tmp/tools-tf-$n" "$res/tf-log-$n"
        rm "$ws/.tools" && ln -s "$tmp/tools-tf-$n" "$ws/.tools"
        measure "drift-logged-$n" 1 0 "$res/drift-logged-$n.json" "$res/drift-logged-$n.err" 0 \
            env STRATA_TIMINGS=1 "$strata" --json drift --env dev -j 2
        rm "$ws/.tools" && ln -s "$repo/.tools" "$ws/.tools"

        if [ "$LOOP" = 1 ]; then
            log "plain loop: init, plan, show per stack, two at a time"
            commit=$(git -C "$ws" rev-parse HEAD)
            mkdir -p "$tmp/loop-$n"
            git -C "$ws" archive "$commit" | tar -x -C "$tmp/loop-$n"
            statedir=$(find "$STRATA_STATE_DIR" -mindepth 1 -maxdepth 1 -type d | head -n 1)/dev
            cat >"$tmp/loop.py" <<'EOF'
import concurrent.futures, json, os, subprocess, sys, time, tomllib
checkout, statedir, terraform, rc, out = sys.argv[1:6]
stacks = sorted(os.listdir(os.path.join(checkout, "stacks")))
base = dict(os.environ, TF_CLI_CONFIG_FILE=rc, TF_IN_AUTOMATION="1", TF_INPUT="0")
calls = []
def one(name):
    d = os.path.join(checkout, "stacks", name)
    state = os.path.join(statedir, "stacks", name, "terraform.tfstate")
    with open(os.path.join(d, "zz_backend_override.tf"), "w") as f:
        f.write('terraform {\n  backend "local" {\n    path = %s\n  }\n}\n' % json.dumps(state))
    env = dict(base)
    with open(os.path.join(d, "stack.toml"), "rb") as f:
        inputs = tomllib.load(f).get("inputs", {})
    for var, ref in inputs.items():
        upstream, output = ref.rsplit(":", 1)
        with open(os.path.join(statedir, upstream, "terraform.tfstate")) as f:
            value = json.load(f)["outputs"][output]["value"]
        env["TF_VAR_" + var] = value if isinstance(value, str) else json.dumps(value)
    tfvars = os.path.join(checkout, "environments/dev/stacks", name, "terraform.tfvars")
    for args in (["init", "-input=false", "-no-color", "-reconfigure"],
                 ["plan", "-input=false", "-no-color", "-out=loop.tfplan", "-var-file=" + tfvars],
                 ["show", "-json", "-no-color", "loop.tfplan"]):
        t0 = time.time()
        subprocess.run([terraform, *args], cwd=d, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        calls.append([args[0], t0, time.time()])
t0 = time.time()
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    list(pool.map(one, stacks))
json.dump({"stacks": len(stacks), "wall_ms": (time.time() - t0) * 1000, "calls": calls},
          open(out, "w"))
EOF
            measure "loop-$n" 1 0 "" "$res/loop-$n.err" 0 \
                python3 "$tmp/loop.py" "$tmp/loop-$n" "$statedir" "$repo/.tools/bin/terraform" \
                "$repo/.tools/terraform.rc" "$res/loop-$n.json"
            rm -rf "$tmp/loop-$n"
        fi
        cd "$tmp"
        rm -rf "$ws" "$STRATA_STATE_DIR"
    done
fi

# --- report --------------------------------------------------------------------------------
machine_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine_mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
python3 - "$res" "$PARTS" "$CHARTS" "$STACKS" "$SEED" "$strata_commit" "$(nproc)" \
    "$machine_cpu" "$machine_mem" "$(uname -sr)" \
    "$("$repo/.tools/bin/terraform" version | head -n 1)" \
    "$("$repo/.tools/bin/helm" version --short)" >"$res/results.md" <<'EOF' || failed=1
import glob, json, os, statistics, sys
res, parts, charts, stacks, seed, commit, nproc, cpu, mem, kernel, tf, helm = sys.argv[1:]
p = print
ok = True
def case(name):
    return json.load(open(f"{res}/case-{name}.json"))
def read(name):
    return open(f"{res}/{name}").read().strip()
def phases(path):
    out = []
    for line in open(path):
        if line.startswith("timing: "):
            raw = line[len("timing: "):]
            parts_ = raw.split()
            i = parts_.index("ms")
            name = " ".join(parts_[: i - 1])
            vals = dict(zip(parts_[i + 1 :: 2], parts_[i + 2 :: 2]))
            # Indented names are parts of the phase above them.
            out.append((name, float(parts_[i - 1]), float(vals.get("at", 0)),
                        float(vals.get("cpu", 0)), float(vals.get("peak", 0)),
                        raw.startswith("  ")))
    return out
def tool_log(d):
    """Each logged process: (tool subcommand, start, end, cpu s, rc)."""
    calls = []
    for f in glob.glob(f"{d}/*"):
        lines = open(f).read().splitlines()
        for i in range(0, len(lines) - 2, 3):
            start, end, sub, rc, _cwd = lines[i].split(" ", 4)
            cu, cs = (float(x.split("m")[0]) * 60 + float(x.split("m")[1].rstrip("s"))
                      for x in lines[i + 2].split())
            calls.append((sub, float(start), float(end), cu + cs, int(rc)))
    # `times` is cumulative for the wrapper's shell; one wrapper runs one process.
    return sorted(calls, key=lambda c: c[1])
def slots(calls, t0, t1):
    """Seconds with 0, 1, 2, 3+ processes running between t0 and t1."""
    ev = sorted([(s, 1) for _, s, _, _, _ in calls] + [(e, -1) for _, _, e, _, _ in calls])
    acc, cur, last = [0.0] * 4, 0, t0
    for t, d in ev:
        acc[min(cur, 3)] += t - last
        cur, last = cur + d, t
    acc[min(cur, 3)] += t1 - last
    return acc
def ms(x):
    return f"{x:,.0f}"
def s(x):
    return f"{x / 1000:,.1f}"

p(f"# strata gitops render and drift: benchmark results\n")
p(f"strata {commit}; {nproc} CPUs ({cpu}), {mem}, {kernel}; {tf}, helm {helm}; seed {seed}; "
  f"STRATA_DAEMON=manual.\n")

if "gitops" in parts.split():
    m = json.load(open(f"{res}/charts-meta.json"))
    p(f"## gitops render: {m['charts']:,} charts\n")
    p(f"Workspace: {m['charts']:,} application charts + {m['library_charts']} library charts, "
      f"{m['files']:,} files; {m['with_platform_lib']} include platform-lib "
      f"({m['with_observability_lib']} also observability-lib), {m['standalone']} carry their own "
      f"templates; {m['with_chart_toml']} have chart.toml `deps` ({m['chart_edges']} edges, "
      f"graph depth {m['graph_depth']}); optional objects: "
      + ", ".join(f"{k} {v}" for k, v in m["extras"].items()) + ".\n")
    cold = case("gitops-cold")
    cj = json.load(open(f"{res}/cold.json"))
    ph = phases(f"{res}/cold.err")
    last = max(x[2] for x in ph)
    own_cpu = max(x[3] for x in ph)
    own_peak = max(x[4] for x in ph)
    sm = cold["samples"][0]
    p("| run | wall | CPU (strata + helm + git) | peak RSS, largest process | strata's own peak RSS | files | others' CPU during the run |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    p(f"| cold, argocd (one run) | **{s(sm['wall_ms'])} s** | {s(sm['cpu_ms'])} s | "
      f"{sm['max_rss_kib'] / 1024:.0f} MiB | {own_peak:.0f} MiB | {len(cj['files']) + 1:,} | "
      f"{sm['others_pct']:.0f}% |")
    p()
    logged = case("gitops-cold-logged")["samples"][0]
    calls = tool_log(f"{res}/helm-log")
    by = {}
    for sub, a, b, c, _ in calls:
        x = by.setdefault(sub, [0, 0.0, 0.0])
        x[0] += 1; x[1] += b - a; x[2] += c
    helm_wall = sum(b - a for _, a, b, _, _ in calls)
    sl = slots(calls, logged["start"], logged["end"])
    p(f"Cold render, where the time goes (strata's own CPU {s(own_cpu)} s by STRATA_TIMINGS, up to "
      f"the end of `run tasks` at {s(last)} s of {s(sm['wall_ms'])} s; a second cold render with "
      f"helm logged took {s(logged['wall_ms'])} s):\n")
    for sub, (n_, w, c) in sorted(by.items()):
        p(f"- `helm {sub}`: {n_:,} process{'es' if n_ != 1 else ''}, {w:,.1f} s in all ({1000 * w / n_:.0f} ms each), "
          f"CPU {c:,.1f} s")
    p(f"- helm processes running: none {sl[0]:.1f} s, one {sl[1]:.1f} s, two {sl[2]:.1f} s, "
      f"three or more {sl[3]:.1f} s")
    over = logged["wall_ms"] / 1000 - helm_wall / 2
    p(f"- wall minus helm time packed into 2 slots: {over:.1f} s, "
      f"{1000 * over / m['charts']:.1f} ms per chart")
    p(f"- cold output identical to a second cold render: {read('identical-cold2')}; "
      f"to the warm argocd render: {read('identical-cold')}\n")
    if read("identical-cold") != "yes" or read("identical-cold2") != "yes":
        ok = False
    p("Warm (everything cached), each format rendered into the same directory, replaced whole:\n")
    p("| format | median ms | min–max ms | CPU ms | peak RSS MiB | files written | bytes | two renders identical | others' CPU |")
    p("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for f in ("argocd", "argocd-appset", "flux-kustomize", "flux-helm"):
        c = case(f"gitops-warm-{f}")
        ident = read(f"identical-{f}")
        ok &= ident == "yes"
        p(f"| `{f}` | **{c['median_ms']:.0f}** | {c['min_ms']:.0f}–{c['max_ms']:.0f} | "
          f"{c['cpu_ms']:.0f} | {c['max_rss_kib'] / 1024:.1f} | {int(read('files-' + f)):,} | "
          f"{int(read('bytes-' + f)):,} | {ident} | {c['others_pct']:.0f}% |")
    c = case("gitops-list")
    p(f"| reference: `strata list` | {c['median_ms']:.0f} | {c['min_ms']:.0f}–{c['max_ms']:.0f} | "
      f"{c['cpu_ms']:.0f} | {c['max_rss_kib'] / 1024:.1f} | | | | {c['others_pct']:.0f}% |")
    p(f"\n{case('gitops-warm-argocd')['runs']} timed runs per format after one untimed run. "
      "Files include the `.strata-gitops` marker.\n")
    for f in ("argocd", "argocd-appset", "flux-kustomize", "flux-helm"):
        ph = phases(f"{res}/phases-warm-{f}.err")
        wall = case(f"gitops-phases-{f}")["samples"][0]["wall_ms"]
        last = max(x[2] for x in ph)
        p(f"Phases of a warm `{f}` render (STRATA_TIMINGS=1): {wall:.0f} ms wall; the last phase "
          f"ends at {last:.0f} ms, and the {wall - last:.0f} ms after it (reading the cached "
          f"manifests back, building the output, writing it, exit) are not broken down:\n")
        p("```")
        for name, d, at, c, pk, sub in ph:
            if not sub:
                p(f"{name:<28} {d:>8.1f} ms   at {at:>7.1f}   cpu {c:>7.1f}   peak {pk:>6.1f} MiB")
        p("```\n")

if "drift" in parts.split():
    fits = []
    p("## drift: scheduling of the lock's plans\n")
    p("| stacks | resources | apply dev (once) | drift median (runs) | min–max | CPU | loop, 2 at a time | drift / loop | others' CPU |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    details = []
    for n in stacks.split():
        m = json.load(open(f"{res}/stacks-{n}-meta.json"))
        ap, d = case(f"apply-{n}"), case(f"drift-{n}")
        report = json.load(open(f"{res}/drift-{n}.json"))
        states = {}
        for st in report["stacks"]:
            states[st["state"]] = states.get(st["state"], 0) + 1
        if states != {"in_sync": int(n)}:
            ok = False
        loop = None
        if os.path.exists(f"{res}/case-loop-{n}.json"):
            loop = case(f"loop-{n}")
        p(f"| {n} | {m['resources']} | {s(ap['median_ms'])} s | **{s(d['median_ms'])} s** ({d['runs']}) | "
          f"{s(d['min_ms'])}–{s(d['max_ms'])} s | {s(d['cpu_ms'])} s | "
          + (f"{s(loop['median_ms'])} s | {100 * d['median_ms'] / loop['median_ms']:.0f}% | " if loop else "— | — | ")
          + f"{d['others_pct']:.0f}% |")
        lg = case(f"drift-logged-{n}")["samples"][0]
        calls = tool_log(f"{res}/tf-log-{n}")
        by = {}
        for sub, a, b, c, _ in calls:
            x = by.setdefault(sub, [0, 0.0, 0.0])
            x[0] += 1; x[1] += b - a; x[2] += c
        tf_wall = sum(b - a for _, a, b, _, _ in calls)
        tf_cpu = sum(c for *_, c, _ in calls)
        sl = slots(calls, lg["start"], lg["end"])
        wall = lg["wall_ms"] / 1000
        over = wall - tf_wall / 2
        first = min(a for _, a, _, _, _ in calls) - lg["start"]
        lastp = lg["end"] - max(b for _, _, b, _, _ in calls)
        fits.append((int(n), d["median_ms"] / 1000, over, tf_wall / 2))
        ph = phases(f"{res}/drift-logged-{n}.err")
        details.append((n, m, d, lg, by, tf_wall, tf_cpu, sl, wall, over, first, lastp, ph, loop, states))
    p()
    for n, m, d, lg, by, tf_wall, tf_cpu, sl, wall, over, first, lastp, ph, loop, states in details:
        p(f"**{n} stacks** ({m['layers']['0']} foundation, {m['layers']['1']} platform, "
          f"{m['layers']['2']} services; {m['edges']} dependency edges, depth {m['graph_depth']}; "
          f"{m['resources']} null resources). Drift found: "
          + ", ".join(f"{v} {k}" for k, v in states.items()) + ". "
          f"The logged run took {wall:.1f} s (unlogged median {d['median_ms'] / 1000:.1f} s):\n")
        for sub, (n_, w, c) in sorted(by.items()):
            p(f"- `terraform {sub}`: {n_} process{'es' if n_ != 1 else ''}, {w:,.1f} s in all "
              f"({1000 * w / n_:.0f} ms each), CPU {c:,.1f} s")
        p(f"- terraform: {tf_wall:.1f} s of process time, {tf_cpu:.1f} s CPU; strata and the git "
          f"it runs: {lg['cpu_ms'] / 1000 - tf_cpu:.1f} s CPU")
        p(f"- terraform processes running: none {sl[0]:.1f} s, one {sl[1]:.1f} s, two "
          f"{sl[2]:.1f} s, three or more {sl[3]:.1f} s")
        p(f"- before the first terraform process: {first:.2f} s; after the last: {lastp:.2f} s")
        p(f"- **strata's overhead** (wall minus terraform time packed into 2 slots): {over:.1f} s, "
          f"**{1000 * over / int(n):.0f} ms per stack** ({100 * over / wall:.0f}% of the wall)")
        if loop:
            lj = json.load(open(f"{res}/loop-{n}.json"))
            lw = sum(b - a for _, a, b in lj["calls"])
            p(f"- plain loop: {loop['median_ms'] / 1000:.1f} s wall, {lw:.1f} s of terraform "
              f"process time; wall minus that packed into 2 slots: "
              f"{loop['median_ms'] / 1000 - lw / 2:.1f} s")
        top = [x[:5] for x in ph if not x[5]]
        p("\n  Phases (STRATA_TIMINGS=1; the workspace is read twice, the checkout and the "
          "temporary worktree of the locked commit):\n")
        p("  ```")
        for name, dd, at, c, pk in top:
            p(f"  {name:<28} {dd:>9.1f} ms   at {at:>8.1f}   cpu {c:>7.1f}   peak {pk:>6.1f} MiB")
        p("  ```\n")
    if len(fits) >= 2:
        (n1, w1, o1, t1), (n2, w2, o2, t2) = fits[0], fits[-1]
        b = (w2 - w1) / (n2 - n1); a = w1 - b * n1
        bo = (o2 - o1) / (n2 - n1); ao = o1 - bo * n1
        p(f"Linear fit through {n1} and {n2} stacks (an extrapolation, not a measurement): wall "
          f"≈ {a:.1f} s + {1000 * b:.0f} ms × stacks → **{(a + b * 1000) / 60:.1f} min at 1,000 "
          f"stacks** (-j 2); overhead ≈ {ao:.1f} s + {1000 * bo:.0f} ms × stacks → "
          f"{ao + bo * 1000:.0f} s at 1,000.\n")
    elif fits:
        n1, w1, o1, t1 = fits[0]
        p(f"Scaled linearly from {n1} stacks (an extrapolation, not a measurement): "
          f"{w1 * 1000 / n1 / 60:.1f} min at 1,000 stacks (-j 2), of which strata's overhead "
          f"{o1 * 1000 / n1:.0f} s.\n")
sys.exit(0 if ok else 1)
EOF
cat "$res/results.md"

if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    cp -r "$res"/. "$KEEP/"
    log "results kept in $KEEP"
fi
if [ "$failed" != 0 ]; then
    log "a check failed (see above)"
    exit 1
fi
log "done"
