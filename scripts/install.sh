#!/usr/bin/env bash
# Builds refold (release) and copies the binary to PREFIX/bin (default /usr/local/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
scripts/ensure-deps.sh
swift build -c release --product refold >&2
bin="$(swift build -c release --show-bin-path)/refold"
mkdir -p "$prefix/bin"
install -m 0755 "$bin" "$prefix/bin/refold"
echo "installed $prefix/bin/refold ($("$prefix/bin/refold" --version))"
