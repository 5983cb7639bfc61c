#!/usr/bin/env bash
# `npm run image`: builds the operator's image from the Dockerfile with buildah
# (daemonless: no Docker engine needed), into a container storage in the cache.
#
#   npm run image                          # localhost/gitlab-aws-operator:<version>
#   npm run image -- --archive FILE.tar    # also write it to a file for `docker load` / `podman load`
#   NODE_IMAGE=... RUNTIME_IMAGE=... npm run image   # bases of your own
#
# The bases are the Dockerfile's: node:24 on Debian bookworm for the build
# stage, Debian bookworm slim for the runtime stage. When they cannot be pulled
# (no registry reachable, as on the machines this project is tested on), this
# builds both locally: a Debian bookworm root filesystem from Debian's packages
# (mmdebstrap), and on top of it Node.js and npm from the npm registry, at the
# versions the project pins (.nvmrc; npm as bundled with that Node.js).
#
# Prints, last, one line: the image's name, its ID and its size in bytes.
# Reuses a build whose inputs (the Dockerfile, the sources it copies, the bases)
# have not changed: the image is tagged with their hash.
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/setup/env.sh

archive=
while [ $# -gt 0 ]; do
  case "$1" in
    --archive) archive=$(realpath -m "$2"); shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done
ensure_node
ensure_image_tools

# The npm that Node.js 24.21.0 (.nvmrc) bundles, per its changelog: change both together.
GAO_NPM_VERSION=11.19.0
DEBIAN_SUITE=bookworm
dir="$GAO_CACHE/image"
mkdir -p "$dir"
# One storage for every image this project builds, in the cache: nothing in
# the machine's own (/var/lib/containers) and nothing in the repository.
# GAO_IMAGE_STORAGE_DRIVER=vfs where overlay cannot be mounted (slower, larger).
bh() {
  buildah --root "$dir/storage" --runroot "$dir/run" \
    --storage-driver "${GAO_IMAGE_STORAGE_DRIVER:-overlay}" "$@"
}
exists() { bh inspect --type image "$1" >/dev/null 2>&1; }
# A working container of a step that failed is removed, not left in the storage.
ctr=
trap '[ -z "$ctr" ] || bh rm "$ctr" >/dev/null 2>&1 || true' EXIT

default_arg() { sed -n "s/^ARG $1=//p" Dockerfile; }
node_image=${NODE_IMAGE:-}
runtime_image=${RUNTIME_IMAGE:-}
if [ -z "$node_image" ] || [ -z "$runtime_image" ]; then
  if bh pull --quiet "$(default_arg NODE_IMAGE)" >/dev/null 2>&1 &&
    bh pull --quiet "$(default_arg RUNTIME_IMAGE)" >/dev/null 2>&1; then
    node_image=${node_image:-$(default_arg NODE_IMAGE)}
    runtime_image=${runtime_image:-$(default_arg RUNTIME_IMAGE)}
  else
    log "the Dockerfile's base images cannot be pulled: using local ones (Debian $DEBIAN_SUITE, Node.js $GAO_NODE_VERSION)"
    # Named after what goes into them, so a new pin makes new bases.
    # Essential packages only (no apt, as in a distroless image) plus the C++
    # runtime node links against; no documentation, manual pages or locales;
    # /usr merged by mmdebstrap's hook rather than the usrmerge package, which
    # would bring perl (47 MB).
    debootstrap=(mmdebstrap --quiet --variant=essential --include=libstdc++6 --format=tar
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
      --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' "$DEBIAN_SUITE")
    rootfs_hash=$(echo "${debootstrap[*]}" | sha256sum | cut -c1-12)
    # The CAs this machine's npm trusts beyond Node.js's own (a TLS-inspecting
    # proxy in front of the registry, say), so that the build stage's npm ci
    # reaches the registry as npm does here. Only the node base (the build
    # stage) gets them: the runtime stage starts from the Debian base.
    build_ca=${NODE_EXTRA_CA_CERTS:-}
    [ -r "$build_ca" ] || build_ca=$(npm config get cafile 2>/dev/null || true)
    [ -r "$build_ca" ] || build_ca=
    node_hash=$( (echo "$rootfs_hash $GAO_NODE_VERSION $GAO_NPM_VERSION"; [ -z "$build_ca" ] || cat "$build_ca") |
      sha256sum | cut -c1-12)
    runtime_image=${runtime_image:-localhost/gitlab-aws-operator-base/debian:$DEBIAN_SUITE-$rootfs_hash}
    node_image=${node_image:-localhost/gitlab-aws-operator-base/node:$GAO_NODE_VERSION-$DEBIAN_SUITE-$node_hash}
    if ! exists "$runtime_image"; then
      rootfs="$dir/debian-$DEBIAN_SUITE-$rootfs_hash.tar"
      if [ ! -s "$rootfs" ]; then
        log "debootstrapping Debian $DEBIAN_SUITE (mmdebstrap, essential) into $rootfs"
        "${debootstrap[@]}" "$rootfs.tmp" >&2
        mv "$rootfs.tmp" "$rootfs"
      fi
      ctr=$(bh from scratch)
      bh add --quiet "$ctr" "$rootfs" / >/dev/null
      bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
      bh commit --quiet --rm "$ctr" "$runtime_image" >/dev/null && ctr=
    fi
    if ! exists "$node_image"; then
      npm_dir="$GAO_CACHE/npm-$GAO_NPM_VERSION"
      if [ ! -f "$npm_dir/node_modules/npm/bin/npm-cli.js" ]; then
        log "installing npm $GAO_NPM_VERSION from the npm registry into $npm_dir"
        npm install --prefix "$npm_dir" --no-save --no-audit --no-fund --loglevel=error "npm@$GAO_NPM_VERSION" >&2
      fi
      # The layout of the official node image: /usr/local/bin/node, npm under
      # /usr/local/lib/node_modules with its links in /usr/local/bin.
      # Exactly the pinned Node.js, whatever node 24 this machine runs.
      node_dir="$GAO_CACHE/node-$GAO_NODE_VERSION"
      if [ ! -x "$node_dir/node_modules/node/bin/node" ]; then
        log "installing Node.js $GAO_NODE_VERSION from the npm registry into $node_dir"
        npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error "node@$GAO_NODE_VERSION" >&2
      fi
      ctr=$(bh from "$runtime_image")
      bh copy --quiet "$ctr" "$node_dir/node_modules/node/bin/node" /usr/local/bin/node
      bh copy --quiet "$ctr" "$npm_dir/node_modules/npm" /usr/local/lib/node_modules/npm
      if [ -n "$build_ca" ]; then
        bh copy --quiet "$ctr" "$build_ca" /usr/local/share/gitlab-aws-operator-build-ca.pem
        bh config --env NODE_EXTRA_CA_CERTS=/usr/local/share/gitlab-aws-operator-build-ca.pem "$ctr"
      fi
      bh run --isolation chroot "$ctr" -- sh -ec '
        ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
        ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
        node --version'
      bh config --env NODE_VERSION="$GAO_NODE_VERSION" --cmd node "$ctr"
      bh commit --quiet --rm "$ctr" "$node_image" >/dev/null && ctr=
    fi
    # Bases of earlier pins go: their tags, and the root filesystems they came from.
    bh images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/gitlab-aws-operator-base/' |
      grep -v -x -e "$runtime_image" -e "$node_image" |
      while read -r old; do bh rmi "$old" >/dev/null 2>&1 || true; done || true
    find "$dir" -maxdepth 1 -name 'debian-*.tar' ! -name "debian-$DEBIAN_SUITE-$rootfs_hash.tar" -delete
  fi
fi

# The build's inputs: what the Dockerfile copies (see .dockerignore) and the bases.
inputs_hash=$(
  {
    echo "$node_image $runtime_image"
    bh inspect --type image --format '{{.FromImageID}}' "$node_image" 2>/dev/null || true
    bh inspect --type image --format '{{.FromImageID}}' "$runtime_image" 2>/dev/null || true
    find Dockerfile .dockerignore package.json package-lock.json tsconfig.json scripts/build.ts src -type f |
      LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -c1-16
)
version=$(node -p 'require("./package.json").version')
name=localhost/gitlab-aws-operator
if ! exists "$name:build-$inputs_hash"; then
  log "building $name:$version (buildah, NODE_IMAGE=$node_image RUNTIME_IMAGE=$runtime_image)"
  # Host network: the build stage runs npm ci against the npm registry.
  # chroot isolation: RUN steps need no OCI runtime or cgroups (crun refuses
  # cgroups in hybrid v1/v2 mode, as on this project's test machines).
  bh build --quiet --layers --isolation chroot --network host --pull=never \
    --build-arg NODE_IMAGE="$node_image" --build-arg RUNTIME_IMAGE="$runtime_image" \
    --label "io.gitlab-aws-operator.inputs=$inputs_hash" \
    --tag "$name:build-$inputs_hash" --file Dockerfile . >&2
fi
bh tag "$name:build-$inputs_hash" "$name:$version"
# Only the newest build is kept; the intermediate layers cache the next one.
bh images --format '{{.Name}}:{{.Tag}}' | grep "^$name:build-" | grep -v ":build-$inputs_hash\$" |
  while read -r old; do bh rmi "$old" >/dev/null 2>&1 || true; done || true

if [ -n "$archive" ]; then
  rm -f "$archive"
  bh push --quiet "$name:$version" "docker-archive:$archive:$name:$version" >&2
  log "wrote $archive"
fi
id=$(bh inspect --type image --format '{{.FromImageID}}' "$name:$version")
# Uncompressed, as `podman images` and `docker images` show it.
size=$(podman --root "$dir/storage" --runroot "$dir/run" --storage-driver "${GAO_IMAGE_STORAGE_DRIVER:-overlay}" \
  image inspect --format '{{.Size}}' "$name:$version")
log "$name:$version: $((size / 1000000)) MB (storage: $dir/storage)"
echo "$name:$version $id $size"
