// kstatus's Compute for a custom resource, after sigs.k8s.io/cli-utils
// pkg/kstatus/status (status.go, generic.go): deletionTimestamp -> Terminating;
// metadata.generation != status.observedGeneration (when both are set) ->
// InProgress (LatestGenerationNotObserved); Reconciling=True -> InProgress;
// Stalled=True -> Failed; otherwise a type without specific rules is Current.
// Flux's health checks (kustomize-controller's wait) and `kpt live status` use it.

export type KStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating';

interface Obj {
  kind?: string;
  metadata?: { generation?: number; deletionTimestamp?: string };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] };
}

export function computeKStatus(obj: Obj): { status: KStatus; message: string } {
  if (obj.metadata?.deletionTimestamp)
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  const generation = obj.metadata?.generation;
  const observed = obj.status?.observedGeneration;
  if (generation !== undefined && observed !== undefined && observed !== generation) {
    return {
      status: 'InProgress',
      message: `${obj.kind} generation is ${generation}, but latest observed generation is ${observed}`,
    };
  }
  for (const c of obj.status?.conditions ?? []) {
    if (c.type === 'Reconciling' && c.status === 'True')
      return { status: 'InProgress', message: c.message ?? '' };
    if (c.type === 'Stalled' && c.status === 'True') return { status: 'Failed', message: c.message ?? '' };
  }
  return { status: 'Current', message: 'Resource is current' };
}
