// What the Dockerfile says, and what it puts in the image (dist/cli.cjs), built
// and run without a container; image.test.ts builds and runs the image itself.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAst } from 'rolldown/parseAst';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, PROBE_RUNNING, UNDICI_LOADED, undiciProbe } from '../../testbed/bundle.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Stages and instructions, with line continuations joined and comments dropped. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', , name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_, v: string) => args[v] ?? '');
      stages.push({ from, ...(name ? { name } : {}), instructions: [] });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [k = '', v = ''] = rest.split('=');
      args[k] = v;
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args: rest });
    }
  }
  return { args, stages };
}

describe('Dockerfile', () => {
  const { stages } = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const final = stages.at(-1)!;
  const last = (op: string) => final.instructions.filter((i) => i.op === op).at(-1)?.args;

  it('is multi-stage: Node.js 24 to build, Debian slim to run, both pinned by digest', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeVersion = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
    const digest = /@sha256:[0-9a-f]{64}$/;
    expect(stages[0]!.from).toMatch(new RegExp(`^docker\\.io/library/node:${nodeVersion}-bookworm-slim@`));
    expect(final.from).toMatch(/^docker\.io\/library\/debian:bookworm-[0-9]+-slim@/);
    for (const s of stages) expect(s.from).toMatch(digest);
    // The runtime stage takes the one node binary from the build stage: same Debian release.
    const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain(`--from=${stages[0]!.name} /usr/local/bin/node /usr/local/bin/node`);
    const build = stages[0]!.instructions.map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build/);
  });

  it('puts only the bundle from the build stage and package.json in the final stage', () => {
    const runs = final.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm\b/.test(r))).toBe(false);
    const copies = final.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain(`--from=${stages[0]!.name} /src/dist ./dist`);
    expect(copies.some((c) => /\bsrc\b/.test(c) && !c.includes('--from'))).toBe(false);
    expect(copies.filter((c) => !c.includes('--from'))).toEqual(['package.json ./']);
  });

  it('runs as a non-root user', () => {
    const user = last('USER');
    expect(user).toBeDefined();
    const [uid] = user!.split(':');
    expect(uid).toMatch(/^\d+$/); // numeric, so runAsNonRoot can verify it
    expect(Number(uid)).not.toBe(0);
    expect(Number(uid)).toBe(65532);
  });

  it('runs the binary with `run` as its default command, as the Helm chart expects', () => {
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual(['gitlab-aws-operator']);
    // The chart runs the binary by name; the image puts the package's bin on PATH.
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain(
      'ln -s /app/dist/cli.cjs /usr/local/bin/gitlab-aws-operator',
    );
    expect(JSON.parse(last('CMD')!)).toEqual(['run']);
    expect(last('WORKDIR')).toBe('/app');
  });

  it('has a .dockerignore that keeps node_modules, tests and the repository out', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', '.git', 'dist', 'test']) expect(ignored).toContain(entry);
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json'])
      expect(ignored).not.toContain(needed);
    // scripts/ is ignored except the build script the build stage runs.
    expect(ignored.indexOf('!scripts/build.ts')).toBeGreaterThan(ignored.indexOf('scripts'));
  });
});

// What `npm run build` produces, laid out as in the image: /app/package.json
// and /app/dist, and no node_modules: the bundle must carry its dependencies.
describe('the built operator (dist/cli.cjs)', () => {
  let app: string;
  beforeAll(async () => {
    app = await buildBundle();
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  }, 180_000);

  it('answers help and version', async () => {
    const cli = join(app, 'dist', 'cli.cjs');
    const help = await run(process.execPath, [cli, 'help'], { cwd: app });
    expect(help.stdout).toContain('Usage: gitlab-aws-operator');
    expect(help.stdout).toContain('--propagation-delay');
    const version = await run(process.execPath, [cli, 'version'], { cwd: app });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('requires nothing but Node.js built-ins and its own chunks, and carries the licences', () => {
    const dist = join(app, 'dist');
    const specifiers = new Set<string>();
    for (const file of readdirSync(dist).filter((f) => f.endsWith('.cjs'))) {
      // Every require() of a literal, import declaration and literal dynamic import in the
      // parsed bundle; a require() inside a try block is optional (debug's of supports-color).
      const visit = (node: unknown, optional = false): void => {
        if (!node || typeof node !== 'object') return;
        const n = node as {
          type?: string;
          source?: { value?: unknown };
          callee?: { type?: string; name?: string };
          arguments?: { type?: string; value?: unknown }[];
        };
        if (
          /^(ImportDeclaration|ExportAllDeclaration|ExportNamedDeclaration|ImportExpression)$/.test(
            n.type ?? '',
          )
        ) {
          if (typeof n.source?.value === 'string') specifiers.add(n.source.value);
        }
        const first = n.arguments?.[0];
        if (
          n.type === 'CallExpression' &&
          n.callee?.name === 'require' &&
          typeof first?.value === 'string' &&
          !optional
        )
          specifiers.add(first.value);
        for (const [key, value] of Object.entries(n))
          if (value && typeof value === 'object')
            visit(value, optional || (n.type === 'TryStatement' && key === 'block'));
      };
      visit(parseAst(readFileSync(join(dist, file), 'utf8')));
    }
    expect([...specifiers]).toContain('node:https');
    const foreign = [...specifiers].filter((s) => !s.startsWith('./') && !isBuiltin(s));
    expect(foreign).toEqual([]);
    const licences = readFileSync(join(dist, 'THIRD-PARTY-LICENSES.txt'), 'utf8');
    expect(licences).toContain('@kubernetes/client-node 2.0.1 (Apache-2.0)');
    expect(licences).toContain('Apache License');
  });

  // Memory, measured with `npm run bench` (docs/bench.md): Node keeps a module
  // with any non-ASCII character as UTF-16, and an ES module import of
  // node:http, or @gitbeaker touching the global FormData, loads Node's own
  // undici, which the operator never calls.
  it('is ASCII, bundles no undici, and loading it does not load Node.js’s own', async () => {
    for (const file of readdirSync(join(app, 'dist')).filter((f) => f.endsWith('.cjs')))
      expect(readFileSync(join(app, 'dist', file), 'latin1'), file).toMatch(/^\p{ASCII}*$/u);
    expect(readFileSync(join(app, 'dist', 'cli.cjs'), 'utf8')).toContain(
      'gitlab-aws-operator sends no multipart (FormData) requests to GitLab',
    );
    const help = await run(
      process.execPath,
      ['--require', undiciProbe(app), join(app, 'dist', 'cli.cjs'), 'help'],
      { cwd: app },
    );
    expect(help.stderr).toContain(PROBE_RUNNING);
    expect(help.stderr).not.toContain(UNDICI_LOADED);
    // Nor the npm undici that client-node imports: a stand-in takes its place (src/runtime/transport/undici.ts).
    const sources = JSON.parse(readFileSync(join(app, 'dist', 'cli.cjs.map'), 'utf8')).sources as string[];
    expect(sources.filter((s) => s.includes('node_modules/undici/'))).toEqual([]);
    expect(sources.some((s) => s.endsWith('src/runtime/transport/undici.ts'))).toBe(true);
  });

  it('runs by name through a link, as on the image PATH', async () => {
    const bin = join(app, 'bin');
    mkdirSync(bin);
    chmodSync(join(app, 'dist', 'cli.cjs'), 0o755);
    symlinkSync(join(app, 'dist', 'cli.cjs'), join(bin, 'gitlab-aws-operator'));
    const version = await run('gitlab-aws-operator', ['version'], {
      cwd: app,
      env: { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}` },
    });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('stops with exit code 2 on a bad flag, before touching a cluster', async () => {
    const err = await run(process.execPath, [join(app, 'dist', 'cli.cjs'), 'run', '--no-such-flag'], {
      cwd: app,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
  });
});
