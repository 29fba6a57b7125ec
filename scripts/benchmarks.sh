#!/usr/bin/env bash
# Micro benchmarks (package-benchmark, in Benchmarks/): runs them and checks allocation counts
# against Benchmarks/Thresholds; exits non-zero on a regression (or an unrecorded improvement).
#   scripts/benchmarks.sh           run and check
#   scripts/benchmarks.sh --update  record new thresholds after an intended change
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
thresholds="$PWD/Benchmarks/Thresholds"
if [ "${1:-}" = "--update" ]; then
  swift package --package-path Benchmarks --disable-sandbox --allow-writing-to-package-directory \
    benchmark thresholds update --path "$thresholds"
  # Keep only the counts that are stable on shared machines (allocations, instructions).
  for file in "$thresholds"/*.json; do
    python3 - "$file" <<'PY'
import json, sys
path = sys.argv[1]
data = {k: v for k, v in json.load(open(path)).items() if k in ("mallocCountTotal", "instructions")}
open(path, "w").write(json.dumps(data, indent=2, sort_keys=True) + "\n")
PY
  done
else
  swift package --package-path Benchmarks --disable-sandbox benchmark thresholds check --path "$thresholds"
fi
