// ARNs this process created, kept until the cached object shows them in status.
// A create ends the reconcile and the runtime writes the ARN at once, but the
// next reconcile starts from the informer's copy, which may not have seen that
// write yet. Without this memory it would look the resource up by name, and a
// listing that lags behind the create (AWS is eventually consistent) could lead
// to a second one. After a crash the memory is gone; the lookup covers that case.
import type { GitLabConnection } from '../../api/v1alpha1/index.ts';

export interface Arns {
  connectionArn?: string;
  hostArn?: string;
}

export class CreatedArns {
  private readonly byUid = new Map<string, Arns>();

  remember(obj: GitLabConnection, arns: Arns): void {
    const uid = obj.metadata.uid ?? '';
    this.byUid.set(uid, { ...this.byUid.get(uid), ...arns });
  }

  /** What this process created last (newer than any status it may see), else what status records. */
  recall(obj: GitLabConnection): Arns {
    const uid = obj.metadata.uid ?? '';
    const status = obj.status ?? {};
    const mine = this.byUid.get(uid);
    if (
      mine &&
      (mine.connectionArn === undefined || mine.connectionArn === status.connectionArn) &&
      (mine.hostArn === undefined || mine.hostArn === status.hostArn)
    ) {
      this.byUid.delete(uid); // status caught up: the memory has done its job
    }
    return {
      connectionArn: mine?.connectionArn ?? status.connectionArn,
      hostArn: mine?.hostArn ?? status.hostArn,
    };
  }

  forget(obj: GitLabConnection): void {
    this.byUid.delete(obj.metadata.uid ?? '');
  }
}
