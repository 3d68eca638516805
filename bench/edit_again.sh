#!/usr/bin/env bash
# Edits the benchmark's changed file once more (appends a comment line with a fresh number),
# so the next `strata affected` sees content it has never parsed: the "warm, after an edit"
# case of bench/affected.sh, a developer's edit-then-ask loop. The affected set stays the
# same, since that file is already changed.
set -euo pipefail
file=${1:?usage: bench/edit_again.sh FILE}
printf '# bench: edit %s-%s\n' "$(date +%s%N)" "$RANDOM" >> "$file"
