/**
 * Why an engine group's pods are not running, in words a user can act on, and how long the
 * scheduler may take before an update is failed.
 *
 * Without this, an engine pod that no node can take (the stack declares more cards than the
 * cluster advertises, or no node carries the group's GPU label) sits in Pending until the
 * Deployment's progress deadline runs out: the engine's start-up window plus ten minutes, over
 * twenty minutes for a 32B model, after which the error says only "progress deadline
 * exceeded". The scheduler knows within seconds, and says so in the pod's `PodScheduled`
 * condition (reason `Unschedulable`, message `0/4 nodes are available: 1 Insufficient
 * nvidia.com/gpu, 3 node(s) didn't match Pod's node affinity/selector. ...`, the format of
 * kube-scheduler's FitError, pkg/scheduler/framework/types.go).
 *
 * Pure: plain data in (the plan's workload and placement, the pods as the API returns them,
 * the time), a verdict out. The caller lists the pods and decides what to do with it.
 */
import type { NodePlacement } from "../../plan/types";
import { GPU_LABEL, GPU_RESOURCE, GROUP_LABEL, type EngineWorkload } from "./workloads";

/** The fields of a Pod (core/v1) this reads. */
export interface PodView {
  readonly metadata: {
    readonly name: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly creationTimestamp?: string;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: { readonly nodeName?: string };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
      readonly lastTransitionTime?: string;
    }[];
  };
}

/** kube-scheduler's default podMaxBackoffSeconds (pkg/scheduler/apis/config/v1/defaults.go): the longest a retry waits. */
export const SCHEDULER_MAX_BACKOFF_S = 10;
/** Room for the controllers' and the scheduler's own round trips on a busy API server. */
const SCHEDULING_SLACK_S = 30;
/** Kubernetes' default terminationGracePeriodSeconds, when a pod template sets none. */
const DEFAULT_GRACE_S = 30;

/**
 * How long one engine pod may wait for a node before the update is failed. A pod of a healthy
 * group waits at most for a GPU to be given back: during a rolling update the new pod is
 * created as the old one starts terminating (maxUnavailable 1), or as the previous surge pod
 * frees its slot's predecessor (maxSurge 1), so it waits one termination grace period of the
 * old pod, then one scheduler back-off. Anything longer is not a rollout in progress but a
 * group the cluster cannot hold.
 */
export function schedulingDeadlineSeconds(workload: EngineWorkload): number {
  const grace = workload.deployment.spec.template.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_S;
  return grace + SCHEDULER_MAX_BACKOFF_S + SCHEDULING_SLACK_S;
}

/** What the scheduler said about one pod it could not place. */
export interface UnscheduledPod {
  readonly pod: string;
  /** Seconds since the pod was created. */
  readonly waitingSeconds: number;
  /** The scheduler's message, or null when no scheduler has looked at the pod yet. */
  readonly schedulerMessage: string | null;
  /** Resources the scheduler found too few of (`nvidia.com/gpu`, `cpu`, ...), in its order. */
  readonly insufficient: readonly string[];
}

export type SchedulingVerdict =
  /** Every live pod of the group has a node. */
  | { readonly state: "scheduled" }
  /** Some pods have no node yet, none for longer than the deadline. */
  | { readonly state: "waiting"; readonly unscheduled: readonly UnscheduledPod[]; readonly secondsLeft: number; readonly message: string }
  /** A pod waited longer than the deadline: fail the update with `message`. */
  | { readonly state: "failed"; readonly unscheduled: readonly UnscheduledPod[]; readonly message: string };

export interface SchedulingInput {
  /** The group's workload as rendered from the plan (its name, GPU, tensor-parallel size, pod template). */
  readonly workload: EngineWorkload;
  /** The plan's placement per node (`plan.placement.nodes`); the group's entries are read. */
  readonly nodes: readonly NodePlacement[];
  /** Pods of the cluster (any; those of other groups are ignored). */
  readonly pods: readonly PodView[];
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Defaults to `schedulingDeadlineSeconds(workload)`. */
  readonly deadlineSeconds?: number;
}

/** "1 Insufficient nvidia.com/gpu, 2 Insufficient cpu" -> ["nvidia.com/gpu", "cpu"]. */
export function insufficientResources(message: string): string[] {
  const out: string[] = [];
  for (const m of message.matchAll(/\b\d+ Insufficient ([A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9])/g)) {
    if (!out.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

/** Counts from the filter part of a FitError message: all nodes, and those rejecting the node selector / cordoned. */
function nodeCounts(message: string): { all: number | null; selectorMismatch: number; cordoned: number } {
  const filter = message.split(" preemption:")[0] ?? message;
  const num = (re: RegExp): number => Number(re.exec(filter)?.[1] ?? 0);
  const all = /^0\/(\d+) nodes are available/.exec(filter);
  return {
    all: all ? Number(all[1]) : null,
    selectorMismatch: num(/(\d+) node\(s\) didn't match Pod's node affinity\/selector/),
    cordoned: num(/(\d+) node\(s\) were unschedulable/),
  };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function unscheduledPods(input: SchedulingInput): UnscheduledPod[] {
  const group = input.workload.group.name;
  return input.pods
    .filter((p) => p.metadata.labels?.[GROUP_LABEL] === group && !p.metadata.deletionTimestamp && !p.spec?.nodeName)
    .filter((p) => (p.status?.phase ?? "Pending") === "Pending")
    .map((p) => {
      const cond = p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable");
      const since = Date.parse(p.metadata.creationTimestamp ?? cond?.lastTransitionTime ?? "");
      const message = cond?.message ?? null;
      return {
        pod: p.metadata.name,
        waitingSeconds: Number.isFinite(since) ? Math.max(0, Math.floor((input.now - since) / 1000)) : 0,
        schedulerMessage: message,
        insufficient: message ? insufficientResources(message) : [],
      };
    })
    .sort((a, b) => b.waitingSeconds - a.waitingSeconds || a.pod.localeCompare(b.pod));
}

/** The user's message: which group, what is missing, what the plan expected where, and what to do. */
function describe(input: SchedulingInput, unscheduled: readonly UnscheduledPod[], deadline: number, failed: boolean): string {
  const { group, deployment } = input.workload;
  const gpu = group.gpu.id;
  const live = input.pods.filter((p) => p.metadata.labels?.[GROUP_LABEL] === group.name && !p.metadata.deletionTimestamp).length;
  const head = failed
    ? `engine group ${group.name}: ${plural(unscheduled.length, "pod")} of ${Math.max(live, deployment.spec.replicas)} found no node within ${deadline} s`
    : `engine group ${group.name}: ${plural(unscheduled.length, "pod")} waiting for a node (${unscheduled[0]?.waitingSeconds ?? 0} s of ${deadline} s)`;
  const ask = `each pod asks for ${group.tensorParallel} ${GPU_RESOURCE} on a node labelled ${GPU_LABEL}=${gpu}`;
  const expected = input.nodes.filter((n) => n.group === group.name);
  const where = expected.map((n) => `${n.node}: ${plural(n.replicas, "replica")} on ${n.gpuCount} x ${gpu} declared`).join(", ");
  const reported = unscheduled.find((u) => u.schedulerMessage !== null);
  const lines = [head];
  if (!reported) {
    lines.push(`no scheduler has looked at ${unscheduled.length === 1 ? "it" : "them"}: check that kube-scheduler runs (${ask})`);
  } else {
    const counts = nodeCounts(reported.schedulerMessage!);
    const causes: string[] = [];
    if (reported.insufficient.includes(GPU_RESOURCE)) {
      causes.push(
        `missing ${GPU_RESOURCE}: the nodes labelled ${GPU_LABEL}=${gpu} have too few free ${GPU_RESOURCE} for them (${ask}). ` +
        `The plan expects ${where}. Check what each node advertises (kubectl describe node ${expected[0]?.node ?? "<node>"}: Allocatable ${GPU_RESOURCE}); ` +
        "if a node has fewer cards than its host's gpu_count, set gpu_count to what it has; if the cards are there, NVIDIA's device plugin is not advertising them",
      );
    }
    const others = reported.insufficient.filter((r) => r !== GPU_RESOURCE);
    if (others.length > 0) causes.push(`too little ${others.join(", ")} left on the GPU nodes for the engine pods' requests`);
    if (counts.all !== null && counts.selectorMismatch === counts.all) {
      causes.push(`no node is labelled ${GPU_LABEL}=${gpu}: label this group's nodes (kubectl label node ${expected[0]?.node ?? "<node>"} ${GPU_LABEL}=${gpu})`);
    }
    if (counts.cordoned > 0) causes.push(`${plural(counts.cordoned, "node")} cordoned (a drain in progress?): kubectl uncordon once it is done`);
    if (causes.length === 0) causes.push(ask);
    lines.push(...causes);
    lines.push(`scheduler: ${reported.schedulerMessage}`);
  }
  return lines.join("\n  ");
}

/**
 * The scheduling state of one engine group: `failed` once any of its pods has waited for a node
 * longer than the deadline, with a message naming the group and what is missing.
 */
export function diagnoseScheduling(input: SchedulingInput): SchedulingVerdict {
  const deadline = input.deadlineSeconds ?? schedulingDeadlineSeconds(input.workload);
  const unscheduled = unscheduledPods(input);
  if (unscheduled.length === 0) return { state: "scheduled" };
  const longest = unscheduled[0]!.waitingSeconds;
  if (longest > deadline) return { state: "failed", unscheduled, message: describe(input, unscheduled, deadline, true) };
  return { state: "waiting", unscheduled, secondsLeft: deadline - longest, message: describe(input, unscheduled, deadline, false) };
}
