#!/usr/bin/env bash
# Makes the benchmark's one change in a workspace made by bench/gen_workspace.py: appends a
# comment line to main.tf of the module named in bench-meta.json (a mid-layer module with
# many transitive users). The change is left uncommitted. Running it twice changes nothing
# more.
set -euo pipefail

dir=${1:?usage: bench/change_one_module.sh WORKSPACE_DIR}
file=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["changed_file"])' \
    "$dir/bench-meta.json")
line='# bench: one-line change to measure affected detection'
if ! grep -qxF "$line" "$dir/$file"; then
    printf '%s\n' "$line" >> "$dir/$file"
fi
echo "$file"
