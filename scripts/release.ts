// The names and chart edits of a release, for .github/workflows/release.yml,
// here rather than in the workflow's shell so that test/release runs them:
//
//   node scripts/release.ts names --tag v1.2.3 --repository Owner/Repo
//     prints version=, image=, chart-registry=, chart-ref= lines (for $GITHUB_OUTPUT);
//     refuses a tag that is not v<semver> or that differs from package.json's
//     version (the image's `gitlab-aws-operator version` reads package.json).
//   node scripts/release.ts chart --tag v1.2.3 --repository Owner/Repo [--chart DIR]
//     sets the chart's version and appVersion to the tag's version, its home to
//     the repository and image.repository to the image the workflow pushes, and
//     regenerates the chart's README, keeping every comment.
//   node scripts/release.ts crds
//     prints crds/*.yaml as one file, the release's crds.yaml, for
//     `kubectl apply --server-side -f` before `helm upgrade` (docs/upgrading.md).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument, Scalar } from 'yaml';
import { CHART_DIR, renderChartReadme } from './generate-chart-readme.ts';

export const IMAGE_NAME = 'gitlab-aws-operator';

export interface ReleaseNames {
  /** The tag without its v: the image tag, the chart's version and appVersion. */
  version: string;
  /** ghcr.io/<owner>/gitlab-aws-operator, lower case as registries require. */
  image: string;
  /** Where `helm push` sends the chart: oci://ghcr.io/<owner>/charts. */
  chartRegistry: string;
  /** What users install: oci://ghcr.io/<owner>/charts/gitlab-aws-operator. */
  chartRef: string;
  /** https://github.com/<owner>/<repo>, the chart's home. */
  home: string;
}

// SemVer 2.0 without build metadata: OCI tags cannot hold "+" (helm would
// rewrite it to "_", and the image tag would not match the chart's appVersion).
const TAG = /^v((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)$/;

export function releaseNames(tag: string, repository: string): ReleaseNames {
  const version = TAG.exec(tag)?.[1];
  if (!version) throw new Error(`tag ${JSON.stringify(tag)} is not v<major>.<minor>.<patch>[-<pre-release>]`);
  const [owner, repo, ...rest] = repository.split('/');
  if (!owner || !repo || rest.length > 0 || !/^[A-Za-z0-9-]+$/.test(owner) || !/^[A-Za-z0-9._-]+$/.test(repo))
    throw new Error(`repository ${JSON.stringify(repository)} is not <owner>/<name>`);
  // The chart goes under charts/: oci://ghcr.io/<owner>/gitlab-aws-operator is
  // the image, and the chart's version would take the image's tag there.
  const registry = `ghcr.io/${owner.toLowerCase()}`;
  return {
    version,
    image: `${registry}/${IMAGE_NAME}`,
    chartRegistry: `oci://${registry}/charts`,
    chartRef: `oci://${registry}/charts/${IMAGE_NAME}`,
    home: `https://github.com/${owner}/${repo}`,
  };
}

/** The package.json version check: a tag must name the version the image reports. */
export function checkPackageVersion(version: string, packageJson: string): void {
  const pkg = JSON.parse(packageJson) as { version: string };
  if (pkg.version !== version) {
    throw new Error(
      `package.json says ${pkg.version}, the tag says ${version}: set "version" in package.json ` +
        `(npm version ${version} --no-git-tag-version), commit, and tag that commit`,
    );
  }
}

/**
 * Sets one scalar of a YAML file, keeping its quotes and every other byte of
 * the file (comments, flow style, spacing): the new value is spliced into the
 * old one's place, then read back.
 */
function setScalar(text: string, path: string[], value: string, file: string): string {
  const node = parseDocument(text).getIn(path, true);
  if (!(node instanceof Scalar) || !node.range) throw new Error(`${file}: ${path.join('.')} is not a scalar`);
  const [start, end] = node.range;
  const source =
    node.type === Scalar.QUOTE_DOUBLE
      ? JSON.stringify(value)
      : node.type === Scalar.QUOTE_SINGLE
        ? `'${value.replace(/'/g, "''")}'`
        : value;
  const result = text.slice(0, start) + source + text.slice(end);
  if (parseDocument(result).getIn(path) !== value) {
    throw new Error(`${file}: ${path.join('.')} cannot be written as ${source}`);
  }
  return result;
}

export function prepareChart(chartDir: string, names: ReleaseNames): void {
  const chartFile = join(chartDir, 'Chart.yaml');
  let chart = readFileSync(chartFile, 'utf8');
  chart = setScalar(chart, ['version'], names.version, 'Chart.yaml');
  chart = setScalar(chart, ['appVersion'], names.version, 'Chart.yaml');
  chart = setScalar(chart, ['home'], names.home, 'Chart.yaml');
  writeFileSync(chartFile, chart);
  const valuesFile = join(chartDir, 'values.yaml');
  writeFileSync(
    valuesFile,
    setScalar(readFileSync(valuesFile, 'utf8'), ['image', 'repository'], names.image, 'values.yaml'),
  );
  writeFileSync(join(chartDir, 'README.md'), renderChartReadme(chartDir));
}

export const CRD_DIR = join(import.meta.dirname, '..', 'crds');

/** crds/*.yaml as one multi-document file, in name order (each file starts with ---). */
export function crdBundle(dir: string = CRD_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/\n*$/, '\n'))
    .join('');
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === 'crds') {
    process.stdout.write(crdBundle());
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      tag: { type: 'string' },
      repository: { type: 'string' },
      chart: { type: 'string', default: CHART_DIR },
    },
  });
  if (!values.tag || !values.repository || (command !== 'names' && command !== 'chart')) {
    throw new Error(
      'usage: node scripts/release.ts crds | (names | chart) --tag vX.Y.Z --repository OWNER/REPO [--chart DIR]',
    );
  }
  const names = releaseNames(values.tag, values.repository);
  if (command === 'names') {
    checkPackageVersion(names.version, readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    process.stdout.write(
      `version=${names.version}\nimage=${names.image}\nchart-registry=${names.chartRegistry}\nchart-ref=${names.chartRef}\n`,
    );
  } else {
    prepareChart(values.chart, names);
    process.stderr.write(
      `chart ${values.chart}: version ${names.version}, image ${names.image}:${names.version}\n`,
    );
  }
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`release: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
