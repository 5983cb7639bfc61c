#!/usr/bin/env bash
# Sets the machine up exactly as `npm test` does (Node.js 24, npm packages,
# etcd + kube-apiserver + kubectl, moto, the AWS CLI), then runs a TypeScript entry point on
# that Node.js: `bash testbed/setup/run.sh scripts/demo.ts [args]`. Used by
# `npm run demo`, `npm run bench` and `npm run chaos`. The first run builds
# Kubernetes from the Go module proxy (about 8 minutes on 2 cores); later runs
# start in seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
source testbed/setup/env.sh

began=$(date +%s)
heartbeat=
trap '[ -n "$heartbeat" ] && kill "$heartbeat" 2>/dev/null || true' EXIT
# A line every 30 s while a step runs, so a first-time build is visibly alive.
with_heartbeat() {
  local what=$1
  shift
  ( while sleep 30; do log "still $what ($(( $(date +%s) - began )) s so far)"; done ) &
  heartbeat=$!
  "$@"
  kill "$heartbeat" 2>/dev/null || true
  heartbeat=
}

log "1/4 Node.js ${GAO_NODE_VERSION}"
with_heartbeat "installing Node.js" ensure_node
log "2/4 npm packages"
with_heartbeat "installing npm packages" ensure_node_modules
log "3/4 etcd ${GAO_ETCD_VERSION}, kube-apiserver and kubectl ${GAO_K8S_VERSION}"
with_heartbeat "building etcd and Kubernetes (first run only, ~8 min on 2 cores)" ensure_k8s_assets
log "4/4 moto ${GAO_MOTO_VERSION} and the AWS CLI ${GAO_AWSCLI_VERSION}"
with_heartbeat "installing moto" ensure_moto
with_heartbeat "installing the AWS CLI" ensure_awscli
log "set-up took $(( $(date +%s) - began )) s (node $(node --version))"

exec node "$@"
