// Finding a connection or host by name before creating one. CreateConnection
// and CreateHost have no idempotency token, so a crash between a create and the
// status write would otherwise make a second resource on the next reconcile:
// the one already made carries our owner tags, and is found and used here.
import type { ConnectionsPort } from '../../adapters/aws/connections.ts';
import { type Candidate, type Pick, pickExisting } from './desired.ts';

/** Reads the tags of each same-named resource, then decides which (if any) is ours to use. */
export async function pickByName(
  port: ConnectionsPort,
  sameNamed: { arn: string }[],
  owner: string,
  clusterId: string,
  adopt: boolean,
): Promise<Pick> {
  const candidates: Candidate[] = [];
  for (const { arn } of sameNamed) candidates.push({ arn, tags: await port.tags(arn) });
  return pickExisting(candidates, owner, clusterId, adopt);
}
