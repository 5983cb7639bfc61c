// What a user would see: Ready, for the current generation, watched in every
// namespace so the bench knows when each object first became Ready (or, for
// the key step, first showed another state of its status).
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { GROUP, VERSION } from './resources.ts';

export interface KubeObject {
  metadata: { name: string; namespace: string; generation?: number };
  status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] };
}

export const isReady = (o: KubeObject) => {
  const ready = getCondition(o.status?.conditions as never, 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === o.metadata.generation;
};

/**
 * Watches one kind in every namespace and remembers when each object was first
 * seen Ready (or passing `test`).
 */
export class ReadyTracker {
  readonly readyAt = new Map<string, number>();
  private stopped = false;
  private request: { abort: () => void } | undefined;
  private readonly kc: KubeConfig;
  private readonly plural: string;
  private readonly test: (o: KubeObject) => boolean;

  constructor(kc: KubeConfig, plural: string, test: (o: KubeObject) => boolean = isReady) {
    this.kc = kc;
    this.plural = plural;
    this.test = test;
  }

  async start(): Promise<void> {
    const watch = new Watch(this.kc);
    const onDone = () => {
      if (!this.stopped) setTimeout(() => void this.start(), 500);
    };
    this.request = await watch.watch(
      `/apis/${GROUP}/${VERSION}/${this.plural}`,
      { allowWatchBookmarks: false },
      (_type: string, obj: KubeObject) => {
        const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
        if (!this.readyAt.has(key) && this.test(obj)) this.readyAt.set(key, Date.now());
      },
      onDone,
    );
  }

  /** When the last object seen so far became Ready. */
  lastReady(): number {
    return Math.max(...this.readyAt.values());
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}
