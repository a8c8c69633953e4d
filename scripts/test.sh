#!/usr/bin/env bash
# Runs all of kubelab's tests on a fresh machine: installs what is missing, builds, lints, then runs the unit tests
# (fakes only), the integration tests (real etcd, real apiserver processes, the real kubectl), and docker-compose.yml
# end to end on a real Docker (test/compose/run.sh; it prints SKIP when Docker cannot be had).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
npm run lint --silent
npx vitest run --project unit
npx vitest run --project integration --no-file-parallelism
npm run test:compose --silent
