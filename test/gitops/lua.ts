// Runs deploy/argocd/health.lua with a real Lua 5.1 interpreter, the way
// Argo CD does: the object is the global `obj`, the script returns `hs`.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOnExit } from '../../testbed/processes.ts';

export const HEALTH_LUA = fileURLToPath(new URL('../../deploy/argocd/health.lua', import.meta.url));
export const LUA = process.env.LUA ?? 'lua5.1';

/** A JSON value as a Lua 5.1 table constructor (null and undefined are left out, as Argo CD does). */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a JSON number: ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  if (typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`);
    return `{${fields.join(', ')}}`;
  }
  throw new Error(`not JSON: ${typeof value}`);
}

/** A Lua string literal: decimal escapes for quotes, backslashes and control bytes; UTF-8 kept as bytes. */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    out +=
      byte < 0x20 || byte === 0x22 || byte === 0x5c || byte === 0x7f
        ? `\\${byte}`
        : String.fromCharCode(byte);
  }
  return `${out}"`;
}

export interface Health {
  status: string;
  message: string;
}

const dir = mkdtempSync(join(tmpdir(), 'gao-argocd-health-'));
removeOnExit(dir);
let seq = 0;

export function luaAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile(LUA, ['-v'], (err) => resolve(!err)));
}

/** hs.status and hs.message for one object, from a Lua 5.1 process. */
export function runHealth(object: unknown, script = HEALTH_LUA): Promise<Health> {
  const file = join(dir, `case-${seq++}.lua`);
  // The object is built from bytes, so the runner writes its answer as bytes too.
  writeFileSync(
    file,
    [
      `obj = ${toLua(object)}`,
      `local hs = dofile(${luaString(script)})`,
      'assert(type(hs) == "table", "the health script must return a table")',
      'io.write(tostring(hs.status), "\\n", tostring(hs.message))',
      '',
    ].join('\n'),
    'latin1',
  );
  return new Promise((resolve, reject) => {
    execFile(LUA, [file], { encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${LUA} ${file}: ${err.message}\n${stderr.toString()}`));
        return;
      }
      const text = stdout.toString('utf8');
      const nl = text.indexOf('\n');
      resolve({ status: text.slice(0, nl), message: text.slice(nl + 1) });
    });
  });
}
