#!/bin/bash
# run.sh [kubelab|real|both] [main.js flags...]: Kubernetes' conformance tests that need no container process
# (subset.txt) against a fresh cluster on hollow nodes, with kubelab's control plane, the real v1.26.1 one, or both
# side by side; prints PASS/FAIL per test, and for `both` the tests whose outcome differs. Needs KUBELAB_PEERS (the
# peers folder with bin/e2e.test, see README.md) and a built kubelab (npm run build). Not part of `npm test`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WHICH=${1:-kubelab}; shift || true
: "${KUBELAB_PEERS:?set KUBELAB_PEERS to the peers folder (bin/e2e.test, bin/kube-apiserver ...); see test/conformance/README.md}"
[ -x "$KUBELAB_PEERS/bin/e2e.test" ] || { echo "no $KUBELAB_PEERS/bin/e2e.test: build it with test/conformance/build-e2e.sh" >&2; exit 2; }
[ -f "$ROOT/dist/test/conformance/main.js" ] || (cd "$ROOT" && npm run build --silent)
MAIN="$ROOT/dist/test/conformance/main.js"
case "$WHICH" in
  kubelab|real) exec node "$MAIN" --control-plane "$WHICH" "$@" ;;
  both)
    STAMP=$(date -u +%Y%m%dT%H%M%S)
    K=/tmp/kubelab-conformance-kubelab-$STAMP; R=/tmp/kubelab-conformance-real-$STAMP
    # At the same time, so that the machine's load falls on both alike.
    node "$MAIN" --control-plane real --report-dir "$R" "$@" > "$R.out" 2>&1 & REAL=$!
    node "$MAIN" --control-plane kubelab --report-dir "$K" "$@" > "$K.out" 2>&1 & LAB=$!
    wait $REAL || true; wait $LAB || true
    tail -1 "$R/results.txt" 2>/dev/null || tail -5 "$R.out"
    tail -1 "$K/results.txt" 2>/dev/null || tail -5 "$K.out"
    echo "outcome on the real control plane -> on kubelab, where they differ:"
    join -t$'\t' <(sed -nE 's/^(PASS|FAIL|SKIP|NOT RUN) (.*)$/\2\t\1/p' "$R/results.txt" | sed -E 's/ \([0-9.]+ s\)\t/\t/' | sort) \
                 <(sed -nE 's/^(PASS|FAIL|SKIP|NOT RUN) (.*)$/\2\t\1/p' "$K/results.txt" | sed -E 's/ \([0-9.]+ s\)\t/\t/' | sort) \
      | awk -F'\t' '$2 != $3 { print $2 " -> " $3 "  " $1 }'
    echo "reports: $R $K" ;;
  *) echo "usage: run.sh [kubelab|real|both] [flags of dist/test/conformance/main.js]" >&2; exit 2 ;;
esac
