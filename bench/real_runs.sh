#!/usr/bin/env bash
# Benchmarks real terraform runs: strata against a plain loop over the stacks.
#
# A generated workspace (default 100 stacks, bench/gen_workspace.py --seed 42) is applied in
# dev once, so every stack has state and every upstream output exists. Then, each from a
# cold start (no .terraform directories, empty strata cache and work directories, empty
# provider cache):
#   1. loop: for each stack in dependency order, `terraform init` then `terraform plan`
#      against the stack's dev state, with its tfvars and its upstream outputs as TF_VAR_*
#      (read from the upstream state files) -- what a shell script or `run-all` does;
#   2. the same loop with a shared provider cache (TF_PLUGIN_CACHE_DIR);
#   3. `strata plan --env dev` (init and plan of every stack, -j nproc);
#   4. `strata check --env dev` (fmt, validate, init, plan, policy of every stack and module);
#   5. the same `strata check --env dev` again, nothing changed (median of 5).
# Providers come from the offline mirror scripts/bootstrap fills; the CLI configuration
# used has no plugin cache of its own, so strata's shared cache is what (3)-(5) use.
# LOCKS=committed commits each stack's .terraform.lock.hcl (as HashiCorp recommends) before
# the timed runs, so every init knows its providers up front; by default they are
# git-ignored and every init resolves its providers afresh.
# Results go to bench/out/real-runs.md (real-runs-locks.md with LOCKS=committed).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stacks=${STACKS:-100}
out="$root/bench/out"
mkdir -p "$out/workspaces"
"$root/scripts/bootstrap" >/dev/null
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p strata-cli
strata="$root/target/release/strata"
terraform="$root/.tools/bin/terraform"
ws="$out/workspaces/real-$stacks"
state="$out/real-$stacks-state"
locks=${LOCKS:-ignored}
report="$out/real-runs.md"
[ "$locks" = committed ] && report="$out/real-runs-locks.md"
rm -rf "$ws" "$state"
python3 "$root/bench/gen_workspace.py" --stacks "$stacks" --seed 42 --out "$ws" --force --quiet
ln -sfn "$root/.tools" "$ws/.tools"
printf '/.tools\n.strata/\n.terraform/\n.terraform.lock.hcl\n' >> "$ws/.gitignore"
sed -i 's|^helm = "4.1.4"|helm = "4.1.4"\ntools_dir = ".tools/bin"|' "$ws/WORKSPACE.toml"
grep -rl --include='*.tf' '"~> 3.2"' "$ws" | xargs -r sed -i 's/"~> 3.2"/"2.1.2"/'
(cd "$ws" && git add -A && git -c user.name=b -c user.email=b@b commit -qm "tools")
# The mirror, without a plugin cache.
rc="$out/real-mirror-only.rc"
cat > "$rc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$root/.tools/providers"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
disable_checkpoint = true
EOF
export TF_CLI_CONFIG_FILE="$rc" STRATA_STATE_DIR="$state" STRATA_DAEMON=0
unset TF_PLUGIN_CACHE_DIR
plugins="$out/real-plugin-cache"
cold() {
  rm -rf "$ws/.strata" "$plugins"
  if [ "$locks" = committed ]; then
    find "$ws/stacks" -name .terraform -prune -exec rm -rf {} +
  else
    find "$ws/stacks" -name .terraform -prune -exec rm -rf {} + -o -name .terraform.lock.hcl -exec rm -f {} +
  fi
}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# Every stack gets state in dev.
(cd "$ws" && STRATA_PLUGIN_CACHE_DIR="$plugins" "$strata" --no-cache apply --auto-approve --env dev >/dev/null 2>&1)
statedir=$(find "$state" -mindepth 1 -maxdepth 1 -type d | head -1)/dev
if [ "$locks" = committed ]; then
  # The lock files the apply's inits wrote, committed beside each stack's code.
  for lock in "$ws"/.strata/work/dev/*/src/stacks/*/.terraform.lock.hcl; do
    label=${lock#"$ws"/.strata/work/dev/*/src/}
    cp "$lock" "$ws/${label}"
  done
  sed -i '/^\.terraform\.lock\.hcl$/d' "$ws/.gitignore"
  (cd "$ws" && git add -A && git -c user.name=b -c user.email=b@b commit -qm "lock files")
fi

loop() { # $1: plugin cache dir or empty
  (cd "$ws" && "$strata" --json list) > "$out/real-list.json"
  python3 - "$ws" "$statedir" "$terraform" "$1" "$out/real-list.json" <<'EOF'
import json, os, subprocess, sys, tomllib
ws, statedir, terraform, cache, listing = sys.argv[1:6]
with open(listing) as f:
    targets = [t for t in json.load(f)["targets"] if t["kind"] == "stack"]
# Dependency order (deps first), as a script author would write it down.
done, order = set(), []
by_label = {t["label"]: t for t in targets}
def visit(label):
    if label in done or label not in by_label:
        return
    done.add(label)
    for d in by_label[label]["deps"]:
        visit(d)
    order.append(label)
for t in sorted(by_label):
    visit(t)
env = dict(os.environ)
if cache:
    os.makedirs(cache, exist_ok=True)
    env["TF_PLUGIN_CACHE_DIR"] = cache
env.update(TF_IN_AUTOMATION="1", TF_INPUT="0")
for label in order:
    d = os.path.join(ws, label)
    vars_env = dict(env)
    with open(os.path.join(d, "stack.toml"), "rb") as f:
        inputs = tomllib.load(f).get("inputs", {})
    for var, ref in inputs.items():
        upstream, output = ref.split(":")
        with open(os.path.join(statedir, upstream, "terraform.tfstate")) as f:
            value = json.load(f)["outputs"][output]["value"]
        vars_env["TF_VAR_" + var] = value if isinstance(value, str) else json.dumps(value)
    subprocess.run([terraform, "init", "-input=false", "-no-color"], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL)
    tfvars = os.path.join(ws, "environments/dev", label, "terraform.tfvars")
    subprocess.run([terraform, "plan", "-input=false", "-no-color", "-lock=false",
                    "-state=" + os.path.join(statedir, label, "terraform.tfstate"),
                    "-var-file=" + tfvars], cwd=d, env=vars_env, check=True, stdout=subprocess.DEVNULL)
EOF
}

cold; start=$(date +%s%N); loop ""; loop_ms=$(ms "$start")
cold; start=$(date +%s%N); loop "$plugins"; loop_cache_ms=$(ms "$start")
cold; find "$ws/stacks" -name .terraform -prune -exec rm -rf {} +
start=$(date +%s%N)
(cd "$ws" && STRATA_PLUGIN_CACHE_DIR="$plugins" "$strata" --json plan --env dev > "$out/real-plan.json" 2>/dev/null)
plan_ms=$(ms "$start")
cold
start=$(date +%s%N)
(cd "$ws" && STRATA_PLUGIN_CACHE_DIR="$plugins" "$strata" --json check --env dev --keep-going > "$out/real-check.json" 2>/dev/null) || true
check_ms=$(ms "$start")
noop=()
for _ in 1 2 3 4 5; do
  start=$(date +%s%N)
  (cd "$ws" && STRATA_PLUGIN_CACHE_DIR="$plugins" "$strata" check --env dev --keep-going >/dev/null 2>&1) || true
  noop+=("$(ms "$start")")
done
noop_ms=$(printf '%s\n' "${noop[@]}" | sort -n | sed -n 3p)
summary() { python3 -c "
import json,sys
t=json.load(open(sys.argv[1]))['tasks']
print(len(t), sum(1 for x in t if x['status']=='ok'), sum(1 for x in t if x['status']=='failed'), sum(1 for x in t if x['status']=='skipped'))
" "$1"; }
read -r ptasks pok pfailed pskipped < <(summary "$out/real-plan.json")
read -r ctasks cok cfailed cskipped < <(summary "$out/real-check.json")
{
  echo "# Real runs: strata against a plain loop"
  echo
  echo "Lock files: $locks."
  echo
  echo "Run $(date -u +%FT%TZ) on $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), strata $(git -C "$root" rev-parse --short=12 HEAD), $stacks generated stacks (seed 42), terraform $("$terraform" version | head -1 | cut -d' ' -f2), dev applied."
  echo
  echo "| run | what runs | wall ms | vs loop |"
  echo "|---|---|---:|---:|"
  echo "| loop, no provider cache | init + plan per stack, in order | $loop_ms | 100% |"
  echo "| loop, shared provider cache | the same | $loop_cache_ms | $((100 * loop_cache_ms / loop_ms))% |"
  echo "| \`strata plan --env dev\`, cold | $ptasks tasks ($pok ok, $pfailed failed, $pskipped skipped) | $plan_ms | $((100 * plan_ms / loop_ms))% |"
  echo "| \`strata check --env dev\`, cold | $ctasks tasks ($cok ok, $cfailed failed, $cskipped skipped) | $check_ms | $((100 * check_ms / loop_ms))% |"
  echo "| \`strata check --env dev\`, nothing changed (median of 5) | all cached | $noop_ms | $(python3 -c "print(round(100*$noop_ms/$loop_ms,2))")% |"
  echo
  echo "Per task of the cold \`strata plan\` (count, mean wall ms, mean ms inside terraform/helm):"
  echo
  python3 -c "
import json,collections
d=collections.defaultdict(lambda:[0,0,0])
for x in json.load(open('$out/real-plan.json'))['tasks']:
    a=d[x['action']]; a[0]+=1; a[1]+=x['duration_ms']; a[2]+=x.get('tool_ms',0)
for k,(n,w,t) in d.items(): print(f'- {k}: {n}, {w//n} ms, {t//n} ms')
"
} > "$report"
cat "$report"
