// One listing of the account's connections, shared by the lookups by name of
// the reconciles that run close together.
import type { Connection, ConnectionsPort } from '../../adapters/aws/connections.ts';

/** How long lookups by name share one listing of the account's connections. */
export const LISTING_TTL_MS = 10_000;

/**
 * ListConnections pages through every connection of the account, so N
 * GitLabConnections created together would read N × N/100 pages (measured with
 * `npm run bench`). Lookups by name within LISTING_TTL_MS share one listing
 * per account and Region, and the connections this process creates are added
 * to it. Deletion does not use it: it always lists afresh.
 */
export class ConnectionListing {
  private readonly ttlMs: number;
  private readonly byPort = new WeakMap<ConnectionsPort, { expires: number; list: Promise<Connection[]> }>();

  constructor(ttlMs = LISTING_TTL_MS) {
    this.ttlMs = ttlMs;
  }

  list(port: ConnectionsPort): Promise<Connection[]> {
    const hit = this.byPort.get(port);
    if (hit && hit.expires > Date.now()) return hit.list;
    const entry = { expires: Date.now() + this.ttlMs, list: port.listConnections() };
    this.byPort.set(port, entry);
    entry.list.catch(() => {
      if (this.byPort.get(port) === entry) this.byPort.delete(port);
    });
    return entry.list;
  }

  added(port: ConnectionsPort, connection: Connection): void {
    const hit = this.byPort.get(port);
    if (hit) hit.list = hit.list.then((all) => [...all, connection]);
  }
}
