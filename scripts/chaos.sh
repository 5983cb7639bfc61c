#!/usr/bin/env bash
# `npm run chaos` (issue #6, docs/chaos.md): sets the machine up exactly as
# `npm test` does, then runs the chaos suite's long mode, scripts/chaos.ts (see
# testbed/setup/run.sh). Arguments go to the script:
# `npm run chaos -- --short --seed 42`.
set -euo pipefail
exec bash "$(dirname "$0")/../testbed/setup/run.sh" scripts/chaos.ts "$@"
