// The command line as a user meets it, through the real process: --help, -h
// and --version after every command, the one-line refusal of a Node.js older
// than 24 (npm start and the built bin), and unknown commands.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { removeOnExit } from '../../testbed/processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = join(ROOT, 'src', 'start.js');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [START, ...args], env);

describe('--help, -h and --version', () => {
  // KUBECONFIG points nowhere: none of these may touch a cluster.
  const env = { KUBECONFIG: '/nonexistent' };

  it.each([['run'], ['check-access'], ['help'], ['version']])(
    'exit 0 after %s, printing its help or the version',
    async (command) => {
      for (const flag of ['--help', '-h']) {
        const help = await cli([command, flag], env);
        expect(help.stderr).toBe('');
        expect(help.code).toBe(0);
        if (command === 'version') expect(help.stdout).toBe(`${VERSION}\n`);
        else if (command === 'check-access')
          expect(help.stdout).toMatch(/^Usage: gitlab-aws-operator check-access /);
        else expect(help.stdout).toMatch(/^gitlab-aws-operator: keeps GitLab CI\/CD and AWS wired together/);
      }
      const version = await cli([command, '--version'], env);
      expect(version).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    },
  );

  it('exit 0 with no command, and win over a flag that is wrong', async () => {
    const cases = [[], ['--help'], ['-h'], ['run', '--no-such-flag', '--help'], ['help', 'run']];
    const results = await Promise.all(cases.map((args) => cli(args, env)));
    for (const [i, result] of results.entries()) {
      expect(result.code, cases[i]!.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: gitlab-aws-operator <command> [flags]');
    }
    expect(await cli(['--version'], env)).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const checkHelp = await cli(['help', 'check-access'], env);
    expect(checkHelp.code).toBe(0);
    expect(checkHelp.stdout).toContain('kubectl gitlab-aws check-access NAME -n NS');
    expect(checkHelp.stdout).toContain('-n, --namespace');
    expect(checkHelp.stdout).toContain('-o, --output');
  });

  it('an unknown command exits 2 with its name, --help or not', async () => {
    for (const args of [['deploy'], ['deploy', '--help']]) {
      const result = await cli(args, env);
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'gitlab-aws-operator: unknown command "deploy"; use one of: run, check-access, help, version\n' +
          "Run 'gitlab-aws-operator help' for the flags.\n",
      });
    }
  });
});

describe('a proxy that Node.js would refuse', () => {
  it('stops run with exit code 2 before anything starts', async () => {
    const result = await cli(['run'], { KUBECONFIG: '/nonexistent', HTTPS_PROXY: 'proxy.corp:3128' });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'gitlab-aws-operator: invalid value for HTTPS_PROXY: use http://host:port or https://host:port\n' +
        "Run 'gitlab-aws-operator help' for the flags.\n",
    });
  });
});

/** A Node.js older than 24 on this machine (the system's own), or undefined. */
function oldNode(): { path: string; version: string } | undefined {
  const found = execFileSync('sh', ['-c', 'which -a node || true'], { encoding: 'utf8' }).split('\n');
  for (const path of found.filter(Boolean)) {
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    if (Number(version.slice(1).split('.')[0]) < 24) return { path, version };
  }
  return undefined;
}

describe('on a Node.js older than 24', () => {
  const old = oldNode();
  const message = (version: string) => `gitlab-aws-operator needs Node.js 24 or newer; this is ${version}\n`;

  it.skipIf(!old)('npm start says so in one line and exits non-zero', async () => {
    const { path, version } = old!;
    // npm start runs `node src/start.js run` with the first node on PATH.
    const npm = execFileSync('sh', ['-c', 'command -v npm || true'], { encoding: 'utf8' }).trim();
    const direct = await run(path, [START, 'run']);
    expect(direct).toEqual({ code: 1, stdout: '', stderr: message(version) });
    if (!npm) return;
    const pathDir = join(path, '..');
    const started = await run(npm, ['start', '--silent'], {
      PATH: [pathDir, ...(process.env.PATH ?? '').split(delimiter)].join(delimiter),
    });
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain(message(version));
    expect(started.stderr).not.toMatch(/^\s+at /m);
  });

  it.skipIf(!old)(
    'the built bin (dist/cli.cjs) says so too',
    async () => {
      const { path, version } = old!;
      const out = mkdtempSync(join(tmpdir(), 'gao-bin-'));
      removeOnExit(out);
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.ts'), '--out-dir', join(out, 'dist')], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      // As installed: the bin next to package.json, reached through its link.
      symlinkSync(join(ROOT, 'package.json'), join(out, 'package.json'));
      const bin = join(out, 'gitlab-aws-operator');
      symlinkSync(join(out, 'dist', 'cli.cjs'), bin);
      expect(existsSync(bin)).toBe(true);
      expect(await run(path, [bin, 'run'])).toEqual({ code: 1, stdout: '', stderr: message(version) });
      expect(await run(process.execPath, [bin, '--version'])).toEqual({
        code: 0,
        stdout: `${VERSION}\n`,
        stderr: '',
      });
    },
    120_000,
  );
});
