#!/usr/bin/env bash
# `npm run demo` (DESIGN.md §5): sets the machine up exactly as `npm test` does,
# then runs the demo, scripts/demo.ts (see testbed/setup/run.sh).
# DEMO_NONINTERACTIVE=1 (or CI=true, or no terminal) runs straight through.
set -euo pipefail
exec bash "$(dirname "$0")/../testbed/setup/run.sh" scripts/demo.ts "$@"
