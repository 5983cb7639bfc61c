// Kubernetes Events (core/v1, what `kubectl describe` shows). Best effort: a
// failed event is logged and never fails a reconcile. A repeat of the same
// event within ten minutes bumps the count of the existing one, as client-go's
// correlator does, instead of creating another object.
import { randomBytes } from 'node:crypto';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../process/logger.ts';
import { KubeApi, MERGE_PATCH } from '../transport/kube.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
  /** Resolves when events already recorded have been sent (for shutdown). */
  flush(): Promise<void>;
}

const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 4096;
const MAX_MESSAGE = 1024;

export class KubernetesEventRecorder implements EventRecorder {
  private readonly api: KubeApi;
  private readonly component: string;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(kubeConfig: KubeConfig, component: string, instance: string, log: Logger) {
    this.api = new KubeApi(kubeConfig);
    this.component = component;
    this.instance = instance;
    this.log = log;
  }

  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const p = this.send(obj, type, reason, message.slice(0, MAX_MESSAGE)).catch((err) =>
      this.log.warn({ reason, err: String((err as Error)?.message ?? err) }, 'could not record event'),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async send(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata?.namespace ?? 'default';
    const now = new Date();
    const key = `${obj.metadata?.uid}|${type}|${reason}|${message}`;
    const seen = this.recent.get(key);
    if (seen && now.getTime() - seen.at < REPEAT_WINDOW_MS) {
      seen.count += 1;
      seen.at = now.getTime();
      await this.api.request('PATCH', `${eventsPath(seen.namespace)}/${encodeURIComponent(seen.name)}`, {
        body: { count: seen.count, lastTimestamp: now },
        contentType: MERGE_PATCH,
      });
      return;
    }
    const name = `${obj.metadata?.name}.${randomBytes(8).toString('hex')}`;
    await this.api.request('POST', eventsPath(namespace), {
      body: {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata?.name,
          namespace,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
      },
    });
    if (this.recent.size >= MAX_REMEMBERED) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.recent.set(key, { name, namespace, count: 1, at: now.getTime() });
  }
}

function eventsPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
}
