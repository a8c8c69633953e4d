#!/usr/bin/env bash
# Installs what kubelab and its tests need on a fresh Debian machine, skipping what is already there:
# Debian's etcd-server (etcd + etcdctl), iptables, conntrack, iproute2, openssl, curl, a kubectl (the machine's, else Debian's
# kubernetes-client), the container runtime's tools (runc, conmon, the CNI plugins, busybox-static for the offline
# images, containerd to prove the CRI against a real runtime, docker-registry and skopeo for the image-pull test), Docker, docker-compose and debootstrap for the compose
# test, chromium for the live view's browser test, and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
# kube-proxy deletes stale UDP conntrack entries with it.
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# The lab's PKI (kubelab up, secure by default; the apiserver's self-signed --cert-dir pair, CSR signing) is made by openssl;
# the lab's tests reach services and the secure apiserver with curl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v conmon >/dev/null 2>&1 || need+=(conmon)
[ -x /usr/lib/cni/ptp ] || need+=(containernetworking-plugins)
# The offline images copy /bin/busybox into their layers, so it must be the static build.
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v setfattr >/dev/null 2>&1 || need+=(attr)
command -v containerd >/dev/null 2>&1 || need+=(containerd)
# Image pulls are tested against Debian's registry on a loopback port, the image pushed into it with skopeo.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
# docker-compose.yml's test (npm run test:compose): Docker, Compose, and debootstrap for its offline base image.
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# The live view's browser test drives Debian's headless Chromium (through playwright-core, no downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Optional: Prometheus (and promtool) for `kubelab up --prometheus` and the dashboards test. Debian's package starts
# its own service on 9090, the lab's default --prometheus-port: when installed here, that service is stopped.
if ! command -v prometheus >/dev/null 2>&1; then
  echo "setup: installing prometheus (optional: kubelab up --prometheus)"
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  else
    echo "setup: prometheus not installed (optional); kubelab up --prometheus will not be available" >&2
  fi
fi
# Debian starts an etcd service on 2379 when it can; kubelab's tests start their own etcd on free ports.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  # npm ci installs exactly what package-lock.json pins and never rewrites it, so a test run leaves the tree clean.
  if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "setup: npm ci failed: package-lock.json does not match package.json." >&2
    echo "setup: after changing dependencies, run 'npm install --package-lock-only' and commit package-lock.json." >&2
    exit 1
  fi
fi
