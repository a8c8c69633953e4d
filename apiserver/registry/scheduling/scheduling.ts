// PriorityClasses and RuntimeClasses, and the two admission plugins that read them on pod creation:
//   - Priority: spec.priorityClassName (or the globalDefault class, or none) decides spec.priority and
//     spec.preemptionPolicy; an unknown class, or a priority the client set that differs, is refused (403).
//   - RuntimeClass: spec.runtimeClassName must name an existing class, whose pod overhead and scheduling
//     constraints (node selector, tolerations) the pod then carries.
// The system classes (system-cluster-critical, system-node-critical) are created by the apiserver at start
// (bootstrap.ts) and cannot be deleted; only one class may be the global default.
import { forbidden, isAlreadyExists, isNotFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import type { Pod, PriorityClass, RuntimeClass, Toleration } from "../../../api/types/index.js";
import { SYSTEM_PRIORITY_CLASSES } from "../../../api/validation/scheduling.js";
import type { ResourceDefinition, StoreLookup } from "../kind.js";
import type { ResourceStore } from "../store.js";
import { PLAIN_STRATEGY } from "../strategy.js";

const PRIORITY_CLASSES = "priorityclasses.scheduling.k8s.io";

export const SCHEDULING_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "scheduling.k8s.io",
    resource: "priorityclasses",
    strategy: () => PLAIN_STRATEGY,
    hooks: (config) => ({
      admitCreate: async (object) => {
        const classes = priorityClassStore(config.storeFor);
        if (classes) await admitPriorityClass(object, await listAll(classes));
      },
      admitDelete: refuseSystemClassDelete,
    }),
  },
  { group: "node.k8s.io", resource: "runtimeclasses", strategy: () => PLAIN_STRATEGY },
];

function priorityClassStore(storeFor: StoreLookup | undefined): ResourceStore | undefined {
  return storeFor?.("scheduling.k8s.io", "v1", "priorityclasses");
}

async function listAll(store: ResourceStore): Promise<KubeObject[]> {
  return (await store.list(undefined, { resourceVersion: "0" })).items;
}

/**
 * The system classes cannot be deleted (403, as Kubernetes' PriorityClass REST answers, whether or not the class
 * exists). Updates are held by validation: a class's value and preemptionPolicy never change.
 */
export function refuseSystemClassDelete(name: string): void {
  if (SYSTEM_PRIORITY_CLASSES.some((pc) => pc.metadata.name === name)) throw forbidden(PRIORITY_CLASSES, name, "this is a system priority class and cannot be deleted");
}

/** Only one PriorityClass may be the global default. */
export function admitPriorityClass(pc: PriorityClass, existing: readonly PriorityClass[]): Promise<void> {
  if (pc.globalDefault !== true) return Promise.resolve();
  const other = existing.find((c) => c.globalDefault === true && c.metadata.name !== pc.metadata.name);
  if (other) throw forbidden(PRIORITY_CLASSES, pc.metadata.name ?? "", `PriorityClass ${other.metadata.name ?? ""} is already marked as default. Only one default can exist`);
  return Promise.resolve();
}

/** The Priority and RuntimeClass admission plugins for a pod being created; mutates `pod` or throws 403. */
export async function admitPodClasses(pod: Pod, storeFor: StoreLookup | undefined): Promise<void> {
  const runtimeClasses = storeFor?.("node.k8s.io", "v1", "runtimeclasses");
  const name = pod.spec?.runtimeClassName;
  if (runtimeClasses && name) {
    let rc: RuntimeClass;
    try {
      rc = await runtimeClasses.get(undefined, name);
    } catch (err) {
      if (isNotFound(err)) throw forbidden("pods", pod.metadata.name ?? "", `pod rejected: RuntimeClass "${name}" not found`);
      throw err;
    }
    applyRuntimeClass(pod, rc);
  }
  const classes = priorityClassStore(storeFor);
  applyPriority(pod, classes ? await listAll(classes) : []);
}

/** Priority admission against the given classes. */
export function applyPriority(pod: Pod, classes: readonly PriorityClass[]): void {
  const spec = pod.spec;
  if (typeof spec !== "object") return;
  const podName = pod.metadata.name ?? "";
  let priority = 0;
  let preemptionPolicy: NonNullable<PriorityClass["preemptionPolicy"]> = "PreemptLowerPriority";
  if (spec.priorityClassName) {
    const pc = classes.find((c) => c.metadata.name === spec.priorityClassName);
    if (!pc) throw forbidden("pods", podName, `no PriorityClass with name ${spec.priorityClassName} was found`);
    priority = pc.value ?? 0;
    preemptionPolicy = pc.preemptionPolicy ?? preemptionPolicy;
  } else {
    // The default class with the highest value, as Kubernetes picks when several claim to be default.
    const defaults = classes.filter((c) => c.globalDefault === true).sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
    const pc = defaults[0];
    if (pc) {
      spec.priorityClassName = pc.metadata.name ?? "";
      priority = pc.value ?? 0;
      preemptionPolicy = pc.preemptionPolicy ?? preemptionPolicy;
    }
  }
  if (spec.priority !== undefined && spec.priority !== priority) {
    throw forbidden("pods", podName, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
  }
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== preemptionPolicy) {
    throw forbidden("pods", podName, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${preemptionPolicy} from the given PriorityClass name`);
  }
  spec.priority = priority;
  spec.preemptionPolicy = preemptionPolicy;
}

/** RuntimeClass admission: the class's overhead and scheduling constraints join the pod's. */
export function applyRuntimeClass(pod: Pod, rc: RuntimeClass): void {
  const spec = pod.spec;
  if (typeof spec !== "object") return;
  const podName = pod.metadata.name ?? "";
  const overhead = rc.overhead?.podFixed;
  if (overhead) {
    if (spec.overhead !== undefined && JSON.stringify(spec.overhead) !== JSON.stringify(overhead)) {
      throw forbidden("pods", podName, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead");
    }
    spec.overhead = { ...overhead };
  } else if (spec.overhead !== undefined) {
    throw forbidden("pods", podName, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead");
  }
  const scheduling = rc.scheduling;
  if (!scheduling) return;
  const selector = { ...(spec.nodeSelector ?? {}) };
  for (const [key, value] of Object.entries(scheduling.nodeSelector ?? {})) {
    const own = selector[key];
    if (own !== undefined && own !== value) {
      throw forbidden("pods", podName, `conflict: runtimeClass.scheduling.nodeSelector[${key}] = ${value}; pod.spec.nodeSelector[${key}] = ${own}`);
    }
    selector[key] = value;
  }
  if (Object.keys(selector).length > 0) spec.nodeSelector = selector;
  const tolerations: Toleration[] = [...(spec.tolerations ?? [])];
  for (const t of scheduling.tolerations ?? []) {
    if (!tolerations.some((own) => JSON.stringify(own) === JSON.stringify(t))) tolerations.push(t);
  }
  if (tolerations.length > 0) spec.tolerations = tolerations;
}

/** Creates the system PriorityClasses that are missing (the apiserver's scheduling bootstrap); existing ones are left as they are. */
export async function ensureSystemPriorityClasses(storeFor: StoreLookup): Promise<void> {
  const classes = priorityClassStore(storeFor);
  if (!classes) return;
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    const name = pc.metadata.name ?? "";
    try {
      await classes.get(undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await classes.create(undefined, structuredClone(pc));
      } catch (createErr) {
        if (!isAlreadyExists(createErr)) throw createErr;
      }
    }
  }
}
