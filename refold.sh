#!/usr/bin/env bash
# ./refold.sh demo   — build and run the demo rebuild (embedded defaults)
# ./refold.sh test   — install what is missing, build, and run every test
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  demo) shift; exec scripts/demo.sh "$@" ;;
  test) shift; exec scripts/test.sh "$@" ;;
  *) echo "usage: ./refold.sh demo | ./refold.sh test" >&2; exit 2 ;;
esac
