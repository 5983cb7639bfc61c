// The operator's image: built by scripts/image.sh (buildah, into a container
// storage in the cache) and run with podman as a user would run it.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type OperatorProcess, watchOperator } from './operator-process.ts';
import { removeOnExit, spawnGuarded } from './processes.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE =
  process.env.GITLAB_AWS_OPERATOR_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'gitlab-aws-operator');
const STORAGE = join(CACHE, 'image');

export interface BuiltImage {
  name: string;
  id: string;
  sizeBytes: number;
}

/** `npm run image`: builds the image, or reuses the build of the same inputs. */
export async function buildImage(): Promise<BuiltImage> {
  const { stdout } = await run('bash', [join(ROOT, 'scripts', 'image.sh')], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  const [name = '', id = '', size = ''] = stdout.trim().split('\n').at(-1)!.split(' ');
  return { name, id, sizeBytes: Number(size) };
}

/**
 * podman on the project's storage. runc, not crun: crun 1.8 (Debian 12)
 * refuses a machine whose cgroups are mixed v1 and v2. Cgroup manager
 * cgroupfs and a file for events: there may be no systemd.
 */
export const PODMAN_GLOBAL = [
  '--root',
  join(STORAGE, 'storage'),
  '--runroot',
  join(STORAGE, 'run'),
  '--storage-driver',
  process.env.GAO_IMAGE_STORAGE_DRIVER ?? 'overlay',
  '--runtime',
  'runc',
  '--cgroup-manager',
  'cgroupfs',
  '--events-backend',
  'file',
];

/**
 * podman asks for 1,048,576 open files and as many processes by default,
 * which a root without CAP_SYS_RESOURCE (as on this project's test machines)
 * may not grant; these limits are below any machine's.
 */
export const PODMAN_LIMITS = ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'];

export async function podman(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('podman', [...PODMAN_GLOBAL, ...args], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? e.message,
    };
  }
}

/**
 * A read-only root filesystem as Kubernetes makes it (readOnlyRootFilesystem):
 * without the writable /tmp, /var/tmp and /run that podman adds by default.
 */
export const READ_ONLY = ['--read-only', '--read-only-tmpfs=false'];

export interface OperatorContainer extends OperatorProcess {
  name: string;
}

/**
 * The image's own entrypoint and user, a read-only root filesystem, the host's
 * network (the testbed listens on loopback). `files` are mounted read-only
 * under /etc/gitlab-aws-operator/ (copied first, readable by the container's
 * user); args and env may name them there.
 */
export function startOperatorContainer(
  image: string,
  args: string[],
  { env = {}, files = {} }: { env?: Record<string, string>; files?: Record<string, string> } = {},
): OperatorContainer {
  const dir = mkdtempSync(join(tmpdir(), 'gao-image-'));
  chmodSync(dir, 0o755);
  removeOnExit(dir);
  const mounts: string[] = [];
  for (const [name, source] of Object.entries(files)) {
    copyFileSync(source, join(dir, name));
    chmodSync(join(dir, name), 0o644);
    mounts.push('--volume', `${join(dir, name)}:/etc/gitlab-aws-operator/${name}:ro`);
  }
  const name = `gao-image-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const child = spawnGuarded('podman', [
    ...PODMAN_GLOBAL,
    'run',
    '--rm',
    '--name',
    name,
    ...READ_ONLY,
    '--network',
    'host',
    ...PODMAN_LIMITS,
    ...mounts,
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    image,
    ...args,
  ]);
  // `podman stop` sends the image's stop signal (SIGTERM), as the kubelet does.
  const watched = watchOperator(child, (signal) =>
    signal === 'SIGKILL'
      ? podman(['rm', '--force', '--time', '0', name])
      : podman(['stop', '--time', '20', name]),
  );
  return { ...watched, name };
}
