#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kubectl from the Go module proxy into
# $OUT_DIR (an envtest-style KUBEBUILDER_ASSETS folder). Prebuilt envtest
# downloads are not reachable from our build machines, so we compile.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging
# modules with ./staging paths. A scratch module that replaces each staging
# module with its published v0.N.P tag builds it unchanged.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:?}
ETCD_VERSION=${ETCD_VERSION:?}
OUT_DIR=${OUT_DIR:?}
WORK_DIR=${WORK_DIR:?}

export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
staging_version="v0.${minor}.$(echo "$K8S_VERSION" | cut -d. -f3)"

mkdir -p "$OUT_DIR" "$WORK_DIR"

build_kubernetes() {
  local dir="$WORK_DIR/kubernetes-v$K8S_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  echo "[testbed] resolving k8s.io/kubernetes@v$K8S_VERSION staging modules"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  go mod init testbed.local/kubernetes >/dev/null 2>&1
  go mod edit -go=1.26
  go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
  grep -E '=> \./staging/' "$gomod" | awk '{print $1}' | sort -u | while read -r mod; do
    go mod edit -replace="$mod=$mod@$staging_version"
  done
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  echo "[testbed] go mod tidy (downloads the Kubernetes module graph)"
  go mod tidy
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  echo "[testbed] building kube-apiserver v$K8S_VERSION (a cold build takes 10-20 minutes on 2 cores)"
  go build -trimpath -ldflags "$ldflags" -o "$OUT_DIR/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT_DIR/kube-apiserver.tmp" "$OUT_DIR/kube-apiserver"
  echo "[testbed] building kubectl v$K8S_VERSION"
  go build -trimpath -ldflags "$ldflags" -o "$OUT_DIR/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "$OUT_DIR/kubectl.tmp" "$OUT_DIR/kubectl"
}

build_etcd() {
  local dir="$WORK_DIR/etcd-v$ETCD_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init testbed.local/etcd >/dev/null 2>&1
  go mod edit -go=1.26
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  echo "[testbed] go mod tidy (etcd v$ETCD_VERSION)"
  go mod tidy
  echo "[testbed] building etcd v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$OUT_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT_DIR/etcd.tmp" "$OUT_DIR/etcd"
}

what=${1:-all}
case "$what" in
  etcd) [ -x "$OUT_DIR/etcd" ] || build_etcd ;;
  kubernetes) { [ -x "$OUT_DIR/kube-apiserver" ] && [ -x "$OUT_DIR/kubectl" ]; } || build_kubernetes ;;
  all)
    [ -x "$OUT_DIR/etcd" ] || build_etcd
    { [ -x "$OUT_DIR/kube-apiserver" ] && [ -x "$OUT_DIR/kubectl" ]; } || build_kubernetes ;;
  *) echo "usage: $0 [etcd|kubernetes|all]" >&2; exit 2 ;;
esac
echo "[testbed] assets ready in $OUT_DIR"
