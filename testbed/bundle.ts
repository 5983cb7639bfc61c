// The operator as the image runs it: `npm run build` into a temporary folder
// (the image's /app, holding dist/), and a probe, loaded before the bundle
// with --require, that says whether Node.js's own copy of undici was ever
// loaded (by a global fetch, FormData or WebSocket). The operator never calls
// it, and loading it costs about 12 MB of RSS (docs/bench.md, third round).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeOnExit } from './processes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const PROBE_RUNNING = 'probe: watching module loads';
export const UNDICI_LOADED = 'probe: Node.js undici loaded';

/** A fresh build in its own folder (removed when the test process exits); `<folder>/dist/cli.cjs` is the operator. */
export async function buildBundle(): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), 'gao-bundle-'));
  removeOnExit(app);
  await promisify(execFile)('npm', ['run', 'build', '--', '--out-dir', join(app, 'dist')], { cwd: ROOT });
  return app;
}

/** Writes the probe into `app` and returns its path, for `--require`. It checks every 100 ms and at exit. */
export function undiciProbe(app: string): string {
  const file = join(app, 'undici-probe.cjs');
  writeFileSync(
    file,
    `process.stderr.write(${JSON.stringify(`${PROBE_RUNNING}\n`)});
let told = false;
const check = () => {
  if (!told && process.moduleLoadList.some((m) => m.includes('deps/undici'))) {
    told = true;
    process.stderr.write(${JSON.stringify(`${UNDICI_LOADED}\n`)});
  }
};
setInterval(check, 100).unref();
process.on('exit', check);
`,
  );
  return file;
}
