// The image, built from the Dockerfile (scripts/image.sh: buildah, local bases
// when no registry is reachable) and run with podman as a cluster runs it: its
// own entrypoint, its non-root user, a read-only root filesystem, against the
// testbed's kube-apiserver, moto and the GitLab fake, until a federation is Ready.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type BuiltImage,
  buildImage,
  type OperatorContainer,
  PODMAN_LIMITS,
  podman,
  READ_ONLY,
  startOperatorContainer,
} from '../../testbed/image.ts';
import { runArgs, testbedAwsEnv } from '../../testbed/operator-process.ts';
import {
  apply,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  REGION,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace } from '../harness/kube.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_VERSION = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
/** The budget: Debian (slim, or essential-only when built here) + one node binary + the bundle. */
const MAX_SIZE_MB = 220;

const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Why the image cannot be built here, if it cannot. */
const cannotBuild = ['buildah', 'podman', 'runc', 'mmdebstrap'].filter((t) => !has(t)).length
  ? `buildah, podman, runc and mmdebstrap are needed (Debian: apt-get install buildah podman runc mmdebstrap; scripts/test.sh installs them as root)`
  : process.getuid?.() !== 0
    ? // scripts/image.sh builds with --isolation chroot and mmdebstrap, as root; rootless (subuids) is untested.
      'the image is built as root (buildah --isolation chroot, mmdebstrap); this process is not root'
    : undefined;

let image: BuiltImage;
/** Why podman cannot run a container on this machine, if it cannot. */
let cannotRun: string | undefined;

beforeAll(async () => {
  if (cannotBuild) return;
  image = await buildImage();
  const probe = await podman(['run', '--rm', ...PODMAN_LIMITS, '--network', 'host', image.name, 'version']);
  if (probe.code !== 0) cannotRun = `podman cannot run a container here: ${probe.stderr.trim()}`;
}, 30 * 60_000);

const sh = (script: string, user = '65532:65532') =>
  podman([
    'run',
    '--rm',
    ...PODMAN_LIMITS,
    ...READ_ONLY,
    '--user',
    user,
    '--entrypoint',
    'sh',
    image.name,
    '-c',
    script,
  ]);

describe('the image (npm run image)', () => {
  it('is built from the Dockerfile and small', ({ skip }) => {
    if (cannotBuild) return skip(cannotBuild);
    const mb = Math.round(image.sizeBytes / 1e6);
    // The figure docs/image.md gives: in the test output, for every run.
    console.log(`image size: ${mb} MB (${image.name}, uncompressed)`);
    expect(image.name).toMatch(/^localhost\/gitlab-aws-operator:\d+\.\d+\.\d+$/);
    expect(mb).toBeLessThanOrEqual(MAX_SIZE_MB);
  });

  it('holds Node.js 24 and the bundle, and no npm, corepack, yarn or node_modules', async ({ skip }) => {
    if (cannotBuild) return skip(cannotBuild);
    if (cannotRun) return skip(cannotRun);
    const inside = await sh(
      'node --version; for t in npm npx corepack yarn; do command -v $t || echo "no $t"; done; ls /app /app/dist | head -n 3; ls -d /usr/local/lib/node_modules /app/node_modules 2>&1 || true',
    );
    expect(inside.stderr).toBe('');
    const out = inside.stdout;
    expect(out).toContain(`v${NODE_VERSION}\n`);
    for (const t of ['npm', 'npx', 'corepack', 'yarn']) expect(out).toContain(`no ${t}\n`);
    expect(out).toContain("cannot access '/usr/local/lib/node_modules': No such file or directory");
    expect(out).toContain("cannot access '/app/node_modules': No such file or directory");
  });

  it('runs as 65532, the gitlab-aws-operator entrypoint with `run`, and writes nothing', async ({ skip }) => {
    if (cannotBuild) return skip(cannotBuild);
    if (cannotRun) return skip(cannotRun);
    const config = JSON.parse(
      (await podman(['image', 'inspect', '--format', '{{json .Config}}', image.name])).stdout,
    ) as { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
    expect(config).toMatchObject({
      User: '65532:65532',
      Entrypoint: ['gitlab-aws-operator'],
      Cmd: ['run'],
      WorkingDir: '/app',
    });
    // As the image's own user (no --user), on a read-only root filesystem.
    const version = await podman(['run', '--rm', ...PODMAN_LIMITS, ...READ_ONLY, image.name, 'version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const write = await sh('id -u; touch /app/x 2>&1; touch /tmp/x 2>&1; true');
    expect(write.stdout).toMatch(/^65532\n/);
    expect(write.stdout).toContain("cannot touch '/app/x': Read-only file system");
    expect(write.stdout).toContain("cannot touch '/tmp/x': Read-only file system");
  });

  describe('run against the testbed', () => {
    let gitlab: GitLabInstance | undefined;
    let op: OperatorContainer | undefined;
    afterAll(async () => {
      await op?.stop('SIGKILL');
      await gitlab?.close();
    });

    it('reconciles a GitLabAwsFederation to Ready, and stops on SIGTERM with exit code 0', async ({
      skip,
    }) => {
      if (cannotBuild) return skip(cannotBuild);
      if (cannotRun) return skip(cannotRun);
      gitlab = await startGitLab();
      const ns = await createNamespace('image');
      await createTokenSecret(ns, gitlab.token);
      // The kubeconfig and the fake's CA, as the chart would mount a Secret.
      op = startOperatorContainer(
        image.name,
        [
          ...runArgs(ns, '/etc/gitlab-aws-operator/kubeconfig'),
          '--propagation-delay',
          '1s',
          '--cluster-id',
          'itest-image',
        ],
        {
          files: { kubeconfig: inject('kubeconfig'), 'gitlab-ca.pem': gitlab.caFile },
          env: {
            ...(testbedAwsEnv({ iamUrl: inject('motoIamUrl'), region: REGION }) as Record<string, string>),
            NODE_EXTRA_CA_CERTS: '/etc/gitlab-aws-operator/gitlab-ca.pem',
          },
        },
      );
      await apply(ns, federation('image-deploy', federationSpec(gitlab)));
      const fed = await waitForCondition(ns, 'image-deploy', 'Ready', 'True', { timeoutMs: 120_000 });
      expect(fed.status?.roleArn).toBe(`arn:aws:iam::123456789012:role/${ns}-image-deploy`);

      const [inspect] = JSON.parse((await podman(['container', 'inspect', op.name])).stdout) as {
        Config: { User: string };
        HostConfig: { ReadonlyRootfs: boolean };
        Path: string;
      }[];
      if (!inspect) throw new Error(`no container ${op.name}`);
      expect(inspect.Config.User).toBe('65532:65532');
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.Path).toBe('gitlab-aws-operator');

      expect(await op.stop('SIGTERM')).toBe(0);
    }, 180_000);
  });
});
