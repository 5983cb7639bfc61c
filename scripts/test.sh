#!/usr/bin/env bash
# The README's test command (`npm test`): sets up everything it needs on a
# fresh machine (Node 24, npm packages, etcd + kube-apiserver + kubectl, moto, the AWS CLI, helm,
# actionlint, promtool, and the Debian packages some tests use: lua5.1, jq, shellcheck, buildah, podman),
# then runs the linter, the type checker, the import-layering check and the
# whole test suite on Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/setup/env.sh

began=$(date +%s)
ensure_node
ensure_node_modules
ensure_k8s_assets
ensure_moto
ensure_awscli
ensure_helm
ensure_lua
ensure_jq
ensure_actionlint
ensure_shellcheck
ensure_image_tools
ensure_promtool
log "set-up took $(( $(date +%s) - began )) s (node $(node --version))"

node_modules/.bin/biome check .
node_modules/.bin/tsc --noEmit -p tsconfig.json
# The layering of src/ and of the folders around it (.dependency-cruiser.cjs).
node_modules/.bin/depcruise src scripts testbed test --config .dependency-cruiser.cjs

results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# A plain closing line that any CI log reader understands.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$results" || true
exit "$status"
