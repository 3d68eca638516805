#!/usr/bin/env bash
# Benchmarks `strata check`:
#   1. the sample workspace's cold `check --env dev` (dev applied first), split between time
#      inside terraform/helm and strata's own time;
#   2. a generated workspace (default 1000 stacks): the first `check --env dev` (everything
#      runs), then the no-op `check --env dev` (everything cached), timed with hyperfine, and
#      the overhead per cached task.
# Results go to bench/out/check-results.md. Needs scripts/bootstrap's tools and hyperfine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stacks=${STACKS:-1000}
out="$root/bench/out"
mkdir -p "$out/workspaces"
"$root/scripts/bootstrap" >/dev/null
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p strata-cli
strata="$root/target/release/strata"
report="$out/check-results.md"
jq_sum() { python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
t=r['tasks']; ran=[x for x in t if not x['cached'] and x['status']=='ok']
print(len(t), sum(1 for x in t if x['cached']), len(ran), sum(x['duration_ms'] for x in ran), sum(x['tool_ms'] for x in ran), sum(1 for x in t if x['status']=='skipped'), sum(1 for x in t if x['status']=='failed'))
" "$1"; }

echo "# strata check: benchmark results" > "$report"
echo >> "$report"
echo "Run $(date -u +%FT%TZ) on $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), strata $(git -C "$root" rev-parse --short=12 HEAD)." >> "$report"

# 1. The sample workspace, cold.
sample="$out/workspaces/sample"
rm -rf "$sample" && mkdir -p "$sample"
git -C "$root" ls-files -z -- WORKSPACE.toml .gitignore stacks modules charts environments shared policies \
  | (cd "$root" && xargs -0 cp --parents -t "$sample")
ln -s "$root/.tools" "$sample/.tools"
(cd "$sample" && git init -q -b main && git add -A && git -c user.name=b -c user.email=b@b commit -qm sample)
(cd "$sample" && "$strata" --no-cache apply --auto-approve --env dev >/dev/null 2>&1)
start=$(date +%s%N)
(cd "$sample" && "$strata" --json check --env dev > "$out/check-sample.json" 2>/dev/null)
wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
read -r tasks cached ran task_ms tool_ms skipped failed < <(jq_sum "$out/check-sample.json")
{
  echo
  echo "## Sample workspace, cold \`check --env dev\` (dev applied, empty cache)"
  echo
  echo "| tasks | ran | wall ms | sum of task ms | of which in terraform/helm | strata's own (task ms − tool ms) |"
  echo "|---:|---:|---:|---:|---:|---:|"
  echo "| $tasks | $ran | $wall_ms | $task_ms | $tool_ms | $((task_ms - tool_ms)) |"
} >> "$report"
start=$(date +%s%N)
(cd "$sample" && "$strata" --json check --env dev > "$out/check-sample-warm.json" 2>/dev/null)
warm_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "
Second run (everything cached): $warm_ms ms wall." >> "$report"

# 2. A generated workspace.
ws="$out/workspaces/check-$stacks"
python3 "$root/bench/gen_workspace.py" --stacks "$stacks" --seed 42 --out "$ws" --force --quiet
ln -sfn "$root/.tools" "$ws/.tools"
grep -q '^/.tools' "$ws/.gitignore" 2>/dev/null || printf '/.tools\n.strata/\n' >> "$ws/.gitignore"
sed -i 's|^helm = "4.1.4"|helm = "4.1.4"\ntools_dir = ".tools/bin"\nterraform_cli_config = ".tools/terraform.rc"|' "$ws/WORKSPACE.toml"
# The generator pins the null provider the way current code does (~> 3.2); the offline mirror
# holds the pinned 2.1.2, so pin that.
grep -rl --include='*.tf' '"~> 3.2"' "$ws" | xargs -r sed -i 's/"~> 3.2"/"2.1.2"/'
(cd "$ws" && git add -A && git -c user.name=b -c user.email=b@b commit -qm "tools")
start=$(date +%s%N)
(cd "$ws" && "$strata" --json check --env dev -j "$(nproc)" > "$out/check-gen-first.json" 2>/dev/null) || true
first_ms=$(( ($(date +%s%N) - start) / 1000000 ))
read -r tasks cached ran task_ms tool_ms skipped failed < <(jq_sum "$out/check-gen-first.json")
(cd "$ws" && hyperfine --warmup 1 --runs 10 --export-json "$out/check-gen-noop.json" "$strata check --env dev" >/dev/null 2>&1)
noop_ms=$(python3 -c "import json;r=json.load(open('$out/check-gen-noop.json'))['results'][0];print(round(r['median']*1000,1))")
(cd "$ws" && "$strata" --json check --env dev > "$out/check-gen-noop-report.json" 2>/dev/null)
read -r ntasks ncached _ _ _ nskipped _ < <(jq_sum "$out/check-gen-noop-report.json")
(cd "$ws" && STRATA_TIMINGS=1 "$strata" check --env dev 2>&1 >/dev/null | grep '^timing' > "$out/check-gen-noop-timings.txt") || true
{
  echo
  echo "## Generated workspace, $stacks stacks (\`bench/gen_workspace.py --seed 42\`), \`check --env dev\`"
  echo
  echo "| run | tasks | cached | ran | skipped | failed | wall ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "| first (empty cache) | $tasks | $cached | $ran | $skipped | $failed | $first_ms |"
  echo "| no-op (median of 10, hyperfine) | $ntasks | $ncached | 0 | $nskipped | 0 | $noop_ms |"
  echo
  echo "Per cached or skipped task: $(python3 -c "print(round($noop_ms/$ntasks,3))") ms (no-op wall time / tasks)."
  echo
  echo "Phase timings of a no-op run (STRATA_TIMINGS=1):"
  echo
  echo '```'
  cat "$out/check-gen-noop-timings.txt"
  echo '```'
} >> "$report"
cat "$report"
