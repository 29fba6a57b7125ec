#!/usr/bin/env bash
# The main job: builds refold (release) and runs `refold demo` on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product refold >&2
exec "$(swift build -c release --show-bin-path)/refold" demo "$@"
