// Lease-based leader election, following client-go's leaderelection package:
// a lease held by someone else counts as expired only when its record has not
// changed for leaseDuration *as observed by us* (no trust in other clocks);
// the holder renews every retryPeriod and gives up if it cannot renew within
// renewDeadline; on shutdown it releases the lease so a standby takes over at
// once instead of after leaseDuration.

import { type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { KubeApi, statusCodeOf } from '../transport/kube.ts';
import { sleep } from '../watch/backoff.ts';
import type { Logger } from './logger.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
}

/** coordination.k8s.io/v1 Lease, as read from the API (times are RFC 3339 strings). */
interface Lease {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string | Date;
    renewTime?: string | Date;
    leaseTransitions?: number;
  };
}

export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private readonly api: KubeApi;
  private readonly path: string;
  private observed: { holder: string; renewTime: string } | undefined;
  private observedAt = 0;
  private leading = false;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.api = new KubeApi(options.kubeConfig);
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process holds the lease (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    const { log, namespace, name, identity, retryPeriodMs } = this.options;
    log.info({ lease: `${namespace}/${name}`, identity }, 'waiting to acquire the leader lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        log.info({ lease: `${namespace}/${name}`, identity }, 'acquired the leader lease');
        return true;
      }
      await sleep(retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  /** Renews until the signal aborts (resolves true) or renewal fails past the deadline (resolves false). */
  async renew(signal: AbortSignal): Promise<boolean> {
    const { renewDeadlineMs, retryPeriodMs, log } = this.options;
    let lastRenewal = Date.now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenewal = Date.now();
      } else if (Date.now() - lastRenewal > renewDeadlineMs) {
        this.leading = false;
        log.error({ lease: this.options.name }, 'could not renew the leader lease in time; leadership lost');
        return false;
      }
    }
    return true;
  }

  /** Gives the lease up so that a standby can take over without waiting for it to expire. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity, log } = this.options;
    try {
      const lease = await this.api.get<Lease>(`${this.path}/${encodeURIComponent(name)}`);
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        renewTime: new V1MicroTime(),
        acquireTime: new V1MicroTime(),
      };
      await this.api.request('PUT', `${this.path}/${encodeURIComponent(name)}`, { body: lease });
      log.info({ lease: `${namespace}/${name}` }, 'released the leader lease');
    } catch (err) {
      log.warn({ err: String((err as Error)?.message ?? err) }, 'could not release the leader lease');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, log } = this.options;
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    const now = new V1MicroTime();
    let lease: Lease;
    try {
      lease = await this.api.get<Lease>(`${this.path}/${encodeURIComponent(name)}`);
    } catch (err) {
      if (statusCodeOf(err) !== 404) {
        log.warn({ err: String((err as Error)?.message ?? err) }, 'could not read the leader lease');
        return false;
      }
      try {
        await this.api.request('POST', this.path, {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch {
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = { holder, renewTime: spec.renewTime ? new Date(spec.renewTime).toISOString() : '' };
    if (
      !this.observed ||
      this.observed.holder !== record.holder ||
      this.observed.renewTime !== record.renewTime
    ) {
      this.observed = record;
      this.observedAt = Date.now();
    }
    const heldBySomeoneElse = holder !== '' && holder !== identity;
    const theirDuration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (heldBySomeoneElse && this.observedAt + theirDuration > Date.now()) return false;

    const mine = holder === identity;
    lease.spec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: now,
      acquireTime: mine && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      await this.api.request('PUT', `${this.path}/${encodeURIComponent(name)}`, { body: lease });
      return true;
    } catch (err) {
      if (statusCodeOf(err) !== 409) {
        log.warn({ err: String((err as Error)?.message ?? err) }, 'could not update the leader lease');
      }
      return false;
    }
  }
}
