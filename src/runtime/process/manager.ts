// Wires the controllers, the probe and metrics endpoints and leader election
// together, and shuts them down in order: stop taking work, let in-flight
// reconciles finish, flush events, release the lease, close the endpoints.
import type { Server } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Controller } from '../reconcile/controller.ts';
import type { EventRecorder } from '../reconcile/events.ts';
import { LeaderElector } from './leader.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { serve } from './probe-server.ts';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  // biome-ignore lint/suspicious/noExplicitAny: controllers of different kinds live side by side
  controllers: Controller<any>[];
  metricsAddr: string;
  healthAddr: string;
  identity: string;
  leaderElection?: {
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  shutdownTimeoutMs: number;
}

export class Manager {
  private readonly options: ManagerOptions;
  private readonly servers: Server[] = [];
  private readonly stopping = new AbortController();
  private elector: LeaderElector | undefined;
  private leadership: Promise<void> | undefined;
  /** Settles when leadership is lost (the process should exit, as controller-runtime does). */
  readonly lost: Promise<void>;
  private markLost: () => void = () => {};

  constructor(options: ManagerOptions) {
    this.options = options;
    this.lost = new Promise((resolve) => {
      this.markLost = resolve;
    });
  }

  async start(): Promise<{ metricsAddr: string; healthAddr: string }> {
    const { log, metrics, controllers } = this.options;
    const metricsServer = await serve(this.options.metricsAddr, {
      '/metrics': async () => ({
        status: 200,
        body: await metrics.registry.metrics(),
        contentType: metrics.registry.contentType,
      }),
    });
    const healthServer = await serve(this.options.healthAddr, {
      '/healthz': async () => ({ status: 200, body: 'ok\n' }),
      '/readyz': async () =>
        controllers.every((c) => c.synced)
          ? { status: 200, body: 'ok\n' }
          : { status: 503, body: 'informers not synced\n' },
    });
    this.servers.push(metricsServer.server, healthServer.server);
    log.info(
      { metricsAddr: metricsServer.address, healthAddr: healthServer.address },
      'serving metrics and probes',
    );

    for (const controller of controllers) controller.startInformers();

    const election = this.options.leaderElection;
    if (!election) {
      this.startWorkers();
    } else {
      const elector = new LeaderElector({
        kubeConfig: this.options.kubeConfig,
        identity: this.options.identity,
        log,
        ...election,
      });
      this.elector = elector;
      this.leadership = (async () => {
        metrics.setLeader(election.name, false);
        if (!(await elector.acquire(this.stopping.signal))) return;
        metrics.setLeader(election.name, true);
        this.startWorkers();
        if (!(await elector.renew(this.stopping.signal))) {
          metrics.setLeader(election.name, false);
          this.markLost();
        }
      })();
    }
    return { metricsAddr: metricsServer.address, healthAddr: healthServer.address };
  }

  private startWorkers(): void {
    this.options.log.info('starting workers');
    for (const controller of this.options.controllers) controller.startWorkers();
  }

  async stop(): Promise<void> {
    const { log, controllers, events, shutdownTimeoutMs } = this.options;
    log.info('shutting down: finishing in-flight reconciles');
    this.stopping.abort();
    const drained = Promise.all(controllers.map((c) => c.stop())).then(() => true);
    const timedOut = new Promise<false>((resolve) =>
      setTimeout(() => resolve(false), shutdownTimeoutMs).unref(),
    );
    if (!(await Promise.race([drained, timedOut])))
      log.warn({ shutdownTimeoutMs }, 'in-flight reconciles did not finish in time');
    await events.flush();
    await this.leadership;
    await this.elector?.release();
    this.options.metrics.setLeader(this.options.leaderElection?.name, false);
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise((resolve) => {
            s.close(resolve);
            s.closeAllConnections();
          }),
      ),
    );
    log.info('shut down');
  }
}
