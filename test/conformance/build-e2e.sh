#!/bin/bash
# build-e2e.sh SRC OUTDIR: Kubernetes' e2e test binary (e2e.test), the ginkgo CLI and kubectl (which the suite's
# kubectl tests expect), v1.26.1, from the source tree ../shared/peers/build.sh extracted (SRC, e.g.
# $KUBELAB_PEERS/src), into OUTDIR (e.g. $KUBELAB_PEERS/bin). -tags providerless as the control plane was built;
# e2e-overlay.py removes the cloud providers the e2e suite still imports (the tree itself is not changed). Takes
# 20-40 minutes on two cores; `-p 2` keeps the machine usable.
set -euo pipefail
SRC=$(cd "${1:?Kubernetes source tree}" && pwd); OUT=$(mkdir -p "${2:?output folder}" && cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OVERLAY_DIR=$(mktemp -d /tmp/kubelab-e2e-overlay-XXXXXX)
trap 'rm -rf "$OVERLAY_DIR"' EXIT
OVERLAY=$(python3 "$HERE/e2e-overlay.py" "$SRC" "$OVERLAY_DIR")
cd "$SRC"
export GOFLAGS=-mod=vendor CGO_ENABLED=0 GOCACHE=${GOCACHE:-$SRC/../.gocache} GOPATH=${GOPATH:-$SRC/../.gopath}
LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $p.gitVersion=v1.26.1 -X $p.gitMajor=1 -X $p.gitMinor=26 -X $p.gitCommit=8f94681cd294aa8cfd3407b8191f6c70214973a4 -X $p.gitTreeState=clean"
done
nice go test -c -vet=off -p 2 -overlay "$OVERLAY" -tags providerless -trimpath -ldflags "$LD" -o "$OUT/e2e.test" ./test/e2e
nice go build -p 2 -trimpath -o "$OUT/ginkgo" ./vendor/github.com/onsi/ginkgo/v2/ginkgo
# The kubectl the suite was written for: its kubectl tests read v1.26's output (`explain`'s RESOURCE:, `version`).
nice go build -p 2 -tags providerless -trimpath -ldflags "$LD" -o "$OUT/kubectl" ./cmd/kubectl
"$OUT/e2e.test" --help 2>&1 | grep -q -- --provider && echo "built $OUT/e2e.test, $OUT/ginkgo and $OUT/kubectl"
