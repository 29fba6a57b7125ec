#!/usr/bin/env bash
# Writes lua/*.lua — the flattened scripts other languages load — from lua/src and
# lua/include. Run it after editing either; a test fails while the two disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product EmbedLuaTool >&2
"$(swift build --show-bin-path)/EmbedLuaTool" flatten lua lua/include lua/src/*.lua
echo "flattened $(ls lua/src/*.lua | wc -l) scripts into lua/" >&2
