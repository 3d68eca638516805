#!/usr/bin/env bash
# Fact extraction throughput on one core: reads every `.tf` file under a directory into
# memory, then times (best of ten passes each) the scanner alone, `parse_tf` (the scanner and
# the reference parser for what it gives up on), the git blob id each file read also gets,
# and a UTF-8 check. Files on disk are not part of it: reading them is the kernel's time,
# measured by the `facts` phase of `STRATA_TIMINGS=1 strata affected`.
#
#   bench/scan_throughput.sh DIR [DIR...]
#
# DIR is any tree of Terraform: a workspace from bench/gen_workspace.py (`--file-size
# realistic`), or a checkout of a public repository. Builds the graph crate's tests in release
# mode (the ignored test `corpus_throughput`).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bench/scan_throughput.sh DIR [DIR...]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
for dir in "$@"; do
    dir=$(cd "$dir" && pwd)
    echo "## $dir"
    STRATA_HCL_CORPUS=$dir cargo test -q --release -p strata-graph --lib corpus_throughput \
        -- --ignored --nocapture 2>/dev/null | grep -vE '^(running|test |[.]+$|$)|test result'
done
