// `npm run chaos` (issue #6): the chaos suite's long mode (see docs/chaos.md).
// scripts/chaos.sh sets the machine up first. Prints the figures, writes them as
// JSON, and exits 1 when an invariant is violated or Retry-After was not honoured.
//
//   node scripts/chaos.ts [--short] [--seed N] [--federations N] [--connections N] [--kills N] [--out DIR]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatReport, longOptions, runChaos, shortOptions } from '../testbed/chaos/scenario.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    seed: { type: 'string' },
    federations: { type: 'string' },
    connections: { type: 'string' },
    kills: { type: 'string' },
    out: { type: 'string' },
  },
});
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = values.out ?? join(ROOT, '.tmp', 'chaos', `${values.short ? 'short' : 'long'}-${stamp}`);
const log = (line: string) => console.log(line);
const options = values.short ? shortOptions(outDir, log) : longOptions(outDir, log);
if (values.seed) options.seed = Number(values.seed);
if (values.federations) options.federations = Number(values.federations);
if (values.connections) options.connections = Number(values.connections);
if (values.kills) options.kills = Number(values.kills);

const report = await runChaos(options);
console.log(`\nChaos suite (${report.mode} mode)\n${formatReport(report)}`);
for (const early of report.gitlab.spacing.early.slice(0, 20)) console.log(`  EARLY: ${early}`);
console.log(`\nfigures: ${join(outDir, 'chaos.json')}; operator logs: ${outDir}/operator-*.log`);
const failed = report.violations.length > 0 || report.gitlab.spacing.early.length > 0;
process.exit(failed ? 1 : 0);
