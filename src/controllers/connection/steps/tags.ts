// Step 3: tags converge to spec.tags plus the owner tags, on the connection and the host.
import type { ConnectionsPort, Tags } from '../../../adapters/aws/connections.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { describeTagDelta, tagDelta } from '../desired.ts';
import type { ConnectionState } from '../state.ts';

export const tagsStep: Step<ConnectionState> = {
  name: 'tags',
  async run(s) {
    const { connection, host } = s;
    s.changes.push(
      ...(await convergeTags(s.port, connection!.arn, s.tags, `connection ${connection!.name}`)),
    );
    if (host) s.changes.push(...(await convergeTags(s.port, host.arn, s.tags, `host ${host.name}`)));
    return next();
  },
};

/** Applies the difference; returns what changed, in words (empty when nothing did). */
async function convergeTags(
  port: ConnectionsPort,
  arn: string,
  desired: Tags,
  what: string,
): Promise<string[]> {
  const observed = await port.tags(arn);
  // Gone since it was read: the next reconcile sees that and recreates it.
  if (observed === undefined) return [];
  const delta = tagDelta(observed, desired);
  if (Object.keys(delta.set).length) await port.tag(arn, delta.set);
  if (delta.remove.length) await port.untag(arn, delta.remove);
  return describeTagDelta(delta).map((d) => `${d} on ${what}`);
}
