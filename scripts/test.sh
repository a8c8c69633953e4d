#!/usr/bin/env bash
# Runs all of kubelab's tests on a fresh machine: installs what is missing, builds, lints, then runs the unit tests
# (fakes only) and the integration tests (real etcd, real apiserver processes, the real kubectl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
npm run lint --silent
npx vitest run --project unit
npx vitest run --project integration --no-file-parallelism
