#!/usr/bin/env bash
# Makes the compose image's base offline when no registry is reachable: a minimal Debian bookworm from Debian's
# mirror (debootstrap) plus this machine's node and npm, imported into Docker and tagged. It stands in for
# node:20-bookworm-slim, which real users pull; `docker build --build-arg BASE_IMAGE=<tag>` uses it.
# The root filesystem is cached as a tarball so a fresh Docker data root imports it in seconds.
# Usage: base-image.sh [tag]   (default kubelab-base:bookworm; DOCKER_HOST chooses the daemon)
set -euo pipefail
tag="${1:-kubelab-base:bookworm}"
cache_dir="${KUBELAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelab}"
tarball="$cache_dir/base-bookworm-node$(node --version)-v2.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
mkdir -p "$cache_dir"
if [ ! -s "$tarball" ]; then
  root="$(mktemp -d "$cache_dir/rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 \
    || { tail -20 "$cache_dir/debootstrap.log" >&2; exit 1; }
  # What node:20-bookworm-slim adds to Debian: node with npm under /usr/local, and a slim apt cache.
  install -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # This machine's own trust store too (it may reach the npm registry through a proxy with its own CA).
  if [ -d /usr/local/share/ca-certificates ]; then
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' "$tarball" "$tag" >/dev/null
