# Sourced by the project's scripts: pinned versions, cache location, Node 24 on PATH.
# Everything is built or installed into the cache, never into the repository.
GAO_CACHE=${GITLAB_AWS_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitlab-aws-operator}
export GITLAB_AWS_OPERATOR_CACHE=$GAO_CACHE

log() { printf '[setup] %s\n' "$*" >&2; }

# The versions come from testbed/versions.json, which the TypeScript side reads
# too, and Node.js's from .nvmrc, where nvm, setup-node and Renovate look for it.
# This runs before Node.js 24 is installed, so the machine's own node (any
# version with npm, which the set-up needs anyway) reads the JSON.
command -v node >/dev/null || { log "Node.js (any version, with npm) is needed to set up the testbed"; exit 1; }
GAO_NODE_VERSION=$(tr -d '[:space:]' <"$(dirname "${BASH_SOURCE[0]}")/../../.nvmrc")
read -r GAO_K8S_VERSION GAO_ETCD_VERSION GAO_MOTO_VERSION GAO_HELM_VERSION GAO_AWSCLI_VERSION GAO_ACTIONLINT_VERSION < <(
  node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const all = [v.kubernetes, v.etcd, v.moto, v.helm, v.awscli, v.actionlint];
    if (!all.every((x) => /^[0-9][0-9A-Za-z.+-]*$/.test(x ?? ""))) throw new Error(`bad versions.json: ${JSON.stringify(v)}`);
    console.log(all.join(" "));' "$(dirname "${BASH_SOURCE[0]}")/../versions.json"
)
[ -n "${GAO_ACTIONLINT_VERSION:-}" ] || { log "could not read testbed/versions.json"; exit 1; }

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

# A Python tool from PyPI in a virtual environment of its own in the cache,
# made anew when the pinned version changes: ensure_venv DIR BIN PACKAGE VERSION.
ensure_venv() {
  local venv="$GAO_CACHE/$1" bin=$2 package=$3 version=$4
  if [ -x "$venv/bin/$bin" ] && [ "$(cat "$venv/.gao-version" 2>/dev/null)" = "$version" ]; then return; fi
  log "installing $package==$version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2
  echo "$version" >"$venv/.gao-version"
}

# moto server.
ensure_moto() {
  if [ -n "${TEST_ASSET_MOTO_SERVER:-}" ] && [ -x "$TEST_ASSET_MOTO_SERVER" ]; then return; fi
  ensure_venv moto-venv moto_server 'moto[server]' "$GAO_MOTO_VERSION"
}

# The AWS CLI (v1, from PyPI) that test/jobs runs the example jobs' scripts
# with. Its own virtual environment: awscli pins botocore exactly, and so does
# moto's boto3, so one venv for both would make one of them move.
ensure_awscli() {
  if [ -n "${TEST_ASSET_AWS:-}" ] && [ -x "$TEST_ASSET_AWS" ]; then return; fi
  ensure_venv awscli-venv aws awscli "$GAO_AWSCLI_VERSION"
}

# helm for the chart tests: TEST_ASSET_HELM, else built once from the Go module
# proxy into the cache (go install with the version ldflags, so `helm version`
# reports the real version instead of v3.x-dev).
ensure_helm() {
  if [ -n "${TEST_ASSET_HELM:-}" ] && [ -x "$TEST_ASSET_HELM" ]; then return; fi
  local dir="$GAO_CACHE/helm/v$GAO_HELM_VERSION"
  if [ -x "$dir/helm" ]; then return; fi
  command -v go >/dev/null || { log "Go is needed to build helm (or set TEST_ASSET_HELM)"; exit 1; }
  log "building helm v$GAO_HELM_VERSION into $dir (first run only)"
  # helm's Makefile also stamps the Kubernetes version it was built against
  # (client-go v0.N.P is Kubernetes 1.N) into chartutil and the linter; without
  # it `helm template` assumes Kubernetes v1.20 and refuses kubeVersion >= 1.28.
  local gomod minor
  gomod=$(go mod download -json "helm.sh/helm/v3@v$GAO_HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  minor=$(awk '$1 == "k8s.io/client-go" {print $2}' "$gomod" | cut -d. -f2)
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$GAO_HELM_VERSION \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    "helm.sh/helm/v3/cmd/helm@v$GAO_HELM_VERSION" >&2
  mkdir -p "$dir" && mv "$dir.tmp/helm" "$dir/helm" && rmdir "$dir.tmp"
}

# Debian packages that some tests need, installed with apt-get when missing and
# running as root (CI installs them beforehand: .github/workflows/ci.yml), else
# named in a log line: ensure_debian WHAT-FOR PACKAGE... (each package's command
# has its name).
ensure_debian() {
  local why=$1 missing=() pkg
  shift
  for pkg in "$@"; do command -v "$pkg" >/dev/null || missing+=("$pkg"); done
  [ ${#missing[@]} = 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (apt-get)"
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
  else
    log "${missing[*]} missing: install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}) $why"
  fi
}

# Lua 5.1, the interpreter Argo CD's health checks are written for; test/gitops
# runs deploy/argocd/health.lua with it.
ensure_lua() { ensure_debian 'to run test/gitops' lua5.1; }

# jq, which the ECS example job uses (test/jobs/ecs-deploy.test.ts runs it; in
# the job's amazon/aws-cli image the job installs it with yum).
ensure_jq() { ensure_debian 'to run test/jobs' jq; }

# ShellCheck, which actionlint runs on every `run:` script of the workflows.
ensure_shellcheck() { ensure_debian 'to run test/release' shellcheck; }

# buildah (builds the image from the Dockerfile, no Docker engine), podman (runs
# it for test/docker/image.test.ts), runc (its OCI runtime) and mmdebstrap (a
# Debian root filesystem for the local base images when no registry can be
# reached). scripts/image.sh and docs/image.md.
ensure_image_tools() { ensure_debian 'to build and run the image (test/docker)' buildah podman runc mmdebstrap; }

# actionlint, which test/release runs on .github/workflows: TEST_ASSET_ACTIONLINT,
# else built once from the Go module proxy into the cache (like helm).
ensure_actionlint() {
  if [ -n "${TEST_ASSET_ACTIONLINT:-}" ] && [ -x "$TEST_ASSET_ACTIONLINT" ]; then return; fi
  local dir="$GAO_CACHE/actionlint/v$GAO_ACTIONLINT_VERSION"
  if [ -x "$dir/actionlint" ]; then return; fi
  command -v go >/dev/null || { log "Go is needed to build actionlint (or set TEST_ASSET_ACTIONLINT)"; exit 1; }
  log "building actionlint v$GAO_ACTIONLINT_VERSION into $dir (first run only)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@v$GAO_ACTIONLINT_VERSION" >&2
  mkdir -p "$dir" && mv "$dir.tmp/actionlint" "$dir/actionlint" && rmdir "$dir.tmp"
}

# promtool (Prometheus's rule checker and unit tester) for test/observability:
# TEST_ASSET_PROMTOOL, else built once from the Go module proxy into the cache.
# Prometheus v3.X.Y is the Go module version v0.3XX.Y (X two digits). Its
# version is read here, apart from the list above, so edits stay local.
ensure_promtool() {
  if [ -n "${TEST_ASSET_PROMTOOL:-}" ] && [ -x "$TEST_ASSET_PROMTOOL" ]; then return; fi
  local version module dir
  version=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).prometheus' \
    "$(dirname "${BASH_SOURCE[0]}")/../versions.json")
  [[ "$version" =~ ^3\.([0-9]+)\.([0-9]+)$ ]] || { log "bad prometheus version in versions.json: $version"; exit 1; }
  module=$(printf 'v0.3%02d.%s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
  dir="$GAO_CACHE/promtool/v$version"
  if [ -x "$dir/promtool" ]; then return; fi
  command -v go >/dev/null || { log "Go is needed to build promtool (or set TEST_ASSET_PROMTOOL)"; exit 1; }
  log "building promtool $version ($module) into $dir (first run only)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" GOFLAGS="-buildvcs=false" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
    "github.com/prometheus/prometheus/cmd/promtool@$module" >&2
  mkdir -p "$dir" && mv "$dir.tmp/promtool" "$dir/promtool" && rmdir "$dir.tmp"
}
