# Sourced by the project's scripts: pinned versions, cache location, Node 24 on PATH.
# Everything is built or installed into the cache, never into the repository.
GAO_CACHE=${GITLAB_AWS_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitlab-aws-operator}
GAO_NODE_VERSION=$(cat "$(dirname "${BASH_SOURCE[0]}")/../../.nvmrc")
GAO_K8S_VERSION=1.36.3
GAO_ETCD_VERSION=3.6.16
GAO_MOTO_VERSION=5.2.5
export GITLAB_AWS_OPERATOR_CACHE=$GAO_CACHE

log() { printf '[setup] %s\n' "$*" >&2; }

# Node.js 24 from the npm registry (the `node` package ships the binary) when
# the machine's own node is older.
ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" = "${GAO_NODE_VERSION%%.*}" ]; then return; fi
  local dir="$GAO_CACHE/node-$GAO_NODE_VERSION"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    log "installing Node.js $GAO_NODE_VERSION from the npm registry into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$GAO_NODE_VERSION" >&2
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

# npm ci when the lock file changed since the last install.
ensure_node_modules() {
  local stamp=node_modules/.gao-lock-hash hash
  hash=$( (cat package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then return; fi
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$hash" >"$stamp"
}

# etcd, kube-apiserver and kubectl: envtest's lookup (TEST_ASSET_*, then
# KUBEBUILDER_ASSETS), else built once from the Go module proxy into the cache.
ensure_k8s_assets() {
  local name var missing=0
  for name in etcd kube-apiserver kubectl; do
    var="TEST_ASSET_$(echo "$name" | tr 'a-z-' 'A-Z_')"
    if [ -n "${!var:-}" ] && [ -x "${!var}" ]; then continue; fi
    if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then continue; fi
    if [ -x "$GAO_CACHE/k8s/$GAO_K8S_VERSION/$name" ]; then continue; fi
    missing=1
  done
  [ "$missing" = 0 ] && return
  command -v go >/dev/null || { log "Go is needed to build the testbed (or set KUBEBUILDER_ASSETS)"; exit 1; }
  log "building etcd $GAO_ETCD_VERSION and Kubernetes $GAO_K8S_VERSION into $GAO_CACHE/k8s (first run only)"
  K8S_VERSION=$GAO_K8S_VERSION ETCD_VERSION=$GAO_ETCD_VERSION \
    OUT_DIR="$GAO_CACHE/k8s/$GAO_K8S_VERSION" WORK_DIR="$GAO_CACHE/build" \
    bash "$(dirname "${BASH_SOURCE[0]}")/build-k8s-assets.sh" all >&2
}

# moto server in a virtual environment in the cache.
ensure_moto() {
  if [ -n "${TEST_ASSET_MOTO_SERVER:-}" ] && [ -x "$TEST_ASSET_MOTO_SERVER" ]; then return; fi
  local venv="$GAO_CACHE/moto-venv"
  if [ -x "$venv/bin/moto_server" ] && [ "$(cat "$venv/.gao-version" 2>/dev/null)" = "$GAO_MOTO_VERSION" ]; then return; fi
  log "installing moto[server]==$GAO_MOTO_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$GAO_MOTO_VERSION" >&2
  echo "$GAO_MOTO_VERSION" >"$venv/.gao-version"
}
