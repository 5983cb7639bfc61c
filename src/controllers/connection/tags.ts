// Tags converge to spec.tags plus the owner tags, on the connection and the host.
import type { ConnectionsPort, Tags } from '../../adapters/aws/connections.ts';
import { describeTagDelta, tagDelta } from './desired.ts';

/** Applies the difference; returns what changed, in words (empty when nothing did). */
export async function convergeTags(
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
