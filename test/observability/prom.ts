// What test/observability needs of Prometheus: the text exposition format
// parsed, promtool's unit-test input built from real scrapes, promtool run,
// and the template functions (humanizeDuration, humanizePercentage) whose
// output the alerts' annotations show, written as Prometheus's own.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { promtoolPath } from '../../testbed/assets.ts';
import { removeOnExit } from '../../testbed/processes.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** A counter, or a histogram's _bucket, _sum or _count: only goes up. */
  cumulative: boolean;
}

export interface Scrape {
  /** When it was taken (ms since the epoch). */
  at: number;
  samples: Sample[];
  /** Every metric name the exposition declares (# TYPE), with a histogram's _bucket, _sum and _count, series or not. */
  declared: Set<string>;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string, at = Date.now()): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name = '', rawLabels = '', rawValue = ''] = m;
    const labels: Record<string, string> = {};
    for (const [, k = '', v = ''] of rawLabels.matchAll(LABEL)) labels[k] = JSON.parse(`"${v}"`);
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const cumulative = types.get(name) === 'counter' || (base !== name && types.get(base) === 'histogram');
    samples.push({ name, labels, value: Number(rawValue), cumulative });
  }
  const declared = new Set<string>();
  for (const [name, type] of types) {
    declared.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) declared.add(name + suffix);
  }
  return { at, samples, declared };
}

const key = (s: Pick<Sample, 'name' | 'labels'>) =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;

/**
 * The labels a Prometheus Operator ServiceMonitor scrape adds (target labels
 * win; a scraped label of the same name is kept as exported_<name>, as
 * without honor_labels).
 */
export function asScraped(
  labels: Record<string, string>,
  target: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[k in target ? `exported_${k}` : k] = v;
  return { ...out, ...target };
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15))));

/**
 * promtool's input series from two real scrapes, `steps` intervals long: a
 * gauge keeps its value at the second scrape; a counter starts at its first
 * value and goes on growing by what it grew between the two, each interval
 * (the interval is the time between them); a Unix-time gauge (name ending
 * _timestamp_seconds) is moved so that the second scrape is promtool's time 0.
 */
export function inputSeries(
  first: Scrape,
  second: Scrape,
  target: Record<string, string>,
  steps: number,
): { series: string; values: string }[] {
  const before = new Map(first.samples.map((s) => [key(s), s.value]));
  const t0 = Math.floor(second.at / 1000);
  const out: { series: string; values: string }[] = [];
  for (const s of second.samples) {
    if (!Number.isFinite(s.value)) continue;
    const labels = asScraped(s.labels, target);
    const series = `${s.name}{${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    const was = before.get(key(s));
    let values: string;
    if (s.cumulative && was !== undefined && s.value >= was)
      values = `${num(was)}+${num(s.value - was)}x${steps}`;
    else if (s.name.endsWith('_timestamp_seconds')) values = `${num(s.value - t0)}+0x${steps}`;
    else values = `${num(s.value)}+0x${steps}`;
    out.push({ series, values });
  }
  return out;
}

/** Prometheus's humanizeDuration (template/template.go), for values of a second or more. */
export function humanizeDuration(v: number): string {
  if (Math.abs(v) < 1) throw new Error('only whole seconds and up are written here');
  const sign = v < 0 ? '-' : '';
  const d = Math.trunc(Math.abs(v));
  const [days, hours, minutes, seconds] = [
    Math.trunc(d / 86400),
    Math.trunc(d / 3600) % 24,
    Math.trunc(d / 60) % 60,
    d % 60,
  ];
  if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
  if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
  if (minutes) return `${sign}${minutes}m ${seconds}s`;
  return `${sign}${goG4(Math.abs(v))}s`;
}

/** Prometheus's humanizePercentage: fmt.Sprintf("%.4g%%", v*100). */
export function humanizePercentage(v: number): string {
  return `${goG4(v * 100)}%`;
}

/** Go's %.4g for numbers between 1e-4 and 1e4. */
function goG4(v: number): string {
  return String(Number(v.toPrecision(4)));
}

export interface PromtoolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function promtool(args: string[], cwd?: string): Promise<PromtoolResult> {
  return new Promise((resolve) => {
    execFile(promtoolPath(), args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A directory of YAML files for promtool (it reads rule files relative to the test file). */
export function writeFiles(files: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gao-promtool-'));
  removeOnExit(dir);
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), stringify(content, { lineWidth: 0 }));
  return dir;
}
