// `npm run build`: the operator as one CommonJS bundle in dist/ (plus the
// chunks of the AWS SDK's lazy imports and the licences of the bundled
// packages), which is what the image runs.
//
// Why a bundle and not tsc's one file per module: memory. Node keeps every
// loaded module's code; the operator's dependencies load about 1,000 files,
// most of them @kubernetes/client-node's generated API, and the bundle keeps
// only what the operator calls. Measured with `npm run bench` (docs/bench.md).
//
// Why CommonJS: an ES module import of `node:http` reads every export of the
// module, and one of them (`WebSocket`) loads Node's own copy of undici, which
// the operator never calls: 12 MB of RSS. require() reads an export only
// when it is used.
//
// Why ASCII only: Node decodes a module with a non-ASCII character in it to
// UTF-16 and keeps that, twice the size of the file (3 MB more).
//
//   npm run build                    # into dist/
//   npm run build -- --out-dir DIR   # elsewhere (the image test builds into a temporary folder)
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'rolldown';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const outDir = resolve(ROOT, values['out-dir']!);

// @kubernetes/client-node has no `sideEffects` field, so a bundler must keep
// every module it imports, and its barrel imports all 758 generated models.
// Its modules only declare classes, functions and constants; the one that
// changes a global (polyfill.js, `File` for Node 18) stays as it is.
const CLIENT_NODE = /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]/;
const moduleSideEffects = (id: string): boolean => !CLIENT_NODE.test(id) || id.endsWith('polyfill.js');

rmSync(outDir, { recursive: true, force: true });
const result = await build({
  input: join(ROOT, 'src', 'cli.ts'),
  platform: 'node',
  tsconfig: join(ROOT, 'tsconfig.json'),
  treeshake: { moduleSideEffects },
  // @gitbeaker checks every request body with `instanceof FormData`, and the
  // global FormData is Node's copy of undici, loaded on first use (the 12 MB
  // above). src/adapters/gitlab/form-data.ts stands in for it.
  transform: { inject: { FormData: [join(ROOT, 'src', 'adapters', 'gitlab', 'form-data.ts'), 'FormData'] } },
  // client-node imports the npm undici for dispatchers the operator never
  // builds (src/runtime/transport/undici.ts says why); a stand-in takes its place.
  resolve: { alias: { undici: join(ROOT, 'src', 'runtime', 'transport', 'undici.ts') } },
  logLevel: 'warn',
  output: {
    dir: outDir,
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: '[name]-[hash].cjs',
    // Non-ASCII characters in strings, templates and regular expressions are escaped.
    charset: 'ascii',
    // Whitespace and dead code go; names stay, so stack traces and error names read as in the source.
    minify: { compress: true, mangle: false, codegen: { removeWhitespace: true } },
    // Licence headers of the bundled packages stay in the files that carry their code.
    comments: { legal: true },
    sourcemap: true,
  },
});

// Comments are not escaped: the licence headers kept above still have a few
// non-ASCII characters (authors' names). Each becomes its unaccented letter,
// or "?", of the same length, so the source map's columns stay right.
for (const chunk of result.output) {
  if (chunk.type !== 'chunk') continue;
  const file = join(outDir, chunk.fileName);
  const code = readFileSync(file, 'utf8');
  const ascii = code.replace(/[^\p{ASCII}]/gu, (ch) =>
    ch
      .normalize('NFKD')
      .replace(/[^\p{ASCII}]/gu, '')
      .padEnd(ch.length, '?')
      .slice(0, ch.length),
  );
  if (ascii !== code) writeFileSync(file, ascii);
}

// The image ships the bundle without node_modules, so the licences of the
// packages whose code it carries go with it.
const packages = new Set<string>();
for (const chunk of result.output) {
  if (chunk.type !== 'chunk') continue;
  for (const id of chunk.moduleIds) {
    const match = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(id);
    if (match) packages.add(match[1]!);
  }
}
const notices = [...packages].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const files = readdirSync(dir)
    .filter((f) => /^(licen[cs]e|copying|notice)/i.test(f))
    .sort();
  const texts = files.map((f) => readFileSync(join(dir, f), 'utf8').trim());
  return [`${pkg.name} ${pkg.version} (${pkg.license ?? 'see its package'})`, ...texts].join('\n\n');
});
writeFileSync(
  join(outDir, 'THIRD-PARTY-LICENSES.txt'),
  `The operator's bundle (dist/) contains code of these packages, under these licences.\n\n${notices.join(`\n\n${'-'.repeat(78)}\n\n`)}\n`,
);
process.stdout.write(`built ${join(outDir, 'cli.cjs')} (${packages.size} packages bundled)\n`);
