// The operator process and the rest of the machine, seen from /proc: RSS and
// CPU of one process, sampled, and where the machine's CPU went.
import { readFileSync } from 'node:fs';
import { round } from './util.ts';

const CLK_TCK = 100;

export interface ProcStats {
  rssMb: number;
  /** Of the RSS: memory the process allocated (heap, native) and mapped files (mostly the node binary's code). */
  rssAnonMb: number;
  rssFileMb: number;
  cpuSeconds: number;
}

function procStats(pid: number): ProcStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    return {
      rssMb: kb('VmRSS') / 1024,
      rssAnonMb: kb('RssAnon') / 1024,
      rssFileMb: (kb('RssFile') + kb('RssShmem')) / 1024,
      cpuSeconds: cpu,
    };
  } catch {
    return undefined;
  }
}

/** Jiffies of the whole machine from /proc/stat: all, and those not idle. */
function machineJiffies(): { total: number; busy: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { total, busy: total - f[3]! - f[4]! };
}

/**
 * Where the rest of the machine's CPU went (the operator's own is the
 * Sampler's): the API server, etcd, moto, and this process (the GitLab and
 * CodeConnections fakes, the IAM proxy, the watches that see Ready). On two
 * shared cores, a cold start is as fast as all of them together let it be.
 */
export class CpuLedger {
  private readonly pids: Record<string, number[]>;
  constructor(pids: Record<string, number[]>) {
    this.pids = pids;
  }
  mark() {
    const byPart: Record<string, number> = {};
    for (const [part, pids] of Object.entries(this.pids))
      byPart[part] = pids.reduce((a, pid) => a + (procStats(pid)?.cpuSeconds ?? 0), 0);
    const own = process.cpuUsage();
    byPart.bench = (own.user + own.system) / 1e6;
    return { byPart, machine: machineJiffies() };
  }
  since(m: ReturnType<CpuLedger['mark']>) {
    const now = this.mark();
    const seconds: Record<string, number> = {};
    for (const [part, v] of Object.entries(now.byPart)) seconds[part] = round(v - (m.byPart[part] ?? 0));
    const total = now.machine.total - m.machine.total;
    return {
      cpuSeconds: seconds,
      machineBusyPercent: total > 0 ? round((100 * (now.machine.busy - m.machine.busy)) / total) : 0,
    };
  }
}

/** Samples one process every 100 ms: the last figures and the peak RSS. */
export class Sampler {
  peakRssMb = 0;
  last: ProcStats = { rssMb: 0, rssAnonMb: 0, rssFileMb: 0, cpuSeconds: 0 };
  private readonly timer: NodeJS.Timeout;
  constructor(pid: number) {
    this.timer = setInterval(() => {
      const s = procStats(pid);
      if (!s) return;
      this.last = s;
      this.peakRssMb = Math.max(this.peakRssMb, s.rssMb);
    }, 100);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}
