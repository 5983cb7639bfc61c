// Requests the API server has answered, by verb and resource, from its own
// metrics (apiserver_request_total).
import https from 'node:https';
import { send } from '../../src/runtime/transport/http-client.ts';
import type { ControlPlane } from '../../testbed/controlplane.ts';
import { round } from './util.ts';

/** Watches are left out, as they are long-lived. */
export async function apiserverRequests(cp: ControlPlane): Promise<Record<string, number>> {
  const response = await send(new URL('/metrics', cp.server), {
    headers: { authorization: `Bearer ${cp.adminToken}` },
    agent: new https.Agent({ ca: cp.caData }),
    timeoutMs: 10_000,
  });
  const out: Record<string, number> = {};
  for (const line of response.text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    const verb = label('verb');
    if (verb === 'WATCH' || verb === 'CONNECT') continue;
    const sub = label('subresource');
    const key = `kubernetes:${verb} ${label('resource')}${sub ? `/${sub}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** What grew between two readings, per resource. */
export const difference = (after: Record<string, number>, before: Record<string, number>, per: number) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = round(d / per, 2);
  }
  return out;
};
