#!/usr/bin/env bash
# ./refold.sh demo   — build and run the demo rebuild (embedded defaults)
# ./refold.sh test   — install what is missing, build, and run every test
# ./refold.sh benchmarks [--update] — micro benchmarks, checked against Benchmarks/Thresholds
# ./refold.sh install [PREFIX] — build (release) and copy refold to PREFIX/bin (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  demo) shift; exec scripts/demo.sh "$@" ;;
  test) shift; exec scripts/test.sh "$@" ;;
  benchmarks) shift; exec scripts/benchmarks.sh "$@" ;;
  install) shift; exec scripts/install.sh "$@" ;;
  *) echo "usage: ./refold.sh demo | ./refold.sh test | ./refold.sh benchmarks [--update] | ./refold.sh install [PREFIX]" >&2; exit 2 ;;
esac
