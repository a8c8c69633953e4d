// Pods: deleted gracefully once bound to a node, default tolerations, PriorityClass and RuntimeClass at admission,
// and the binding and eviction (PodDisruptionBudget-honouring, policy/eviction.ts) subresources.
import { defaultTolerations } from "../../../api/defaults.js";
import { badRequest, conflict, invalid, methodNotAllowed, type FieldError } from "../../../api/errors.js";
import type { KubeObject, Status } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { formatTime } from "../../../api/time.js";
import type { ResourceDefinition, SubresourceRequest } from "../kind.js";
import { evictPodHonouringBudgets } from "../policy/eviction.js";
import { admitPodClasses } from "../scheduling/scheduling.js";
import type { ResourceStore } from "../store.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const POD_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "",
    resource: "pods",
    strategy: () => ({
      ...PLAIN_STRATEGY,
      statusSubresource: true,
      returnDeletedObject: true,
      // A pod bound to a node is stopped by its kubelet, which then deletes it with grace 0.
      gracePeriodFor(pod, requested) {
        const spec = pod.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
        if (!spec?.nodeName) return undefined;
        const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
        return grace > 0 ? grace : undefined;
      },
    }),
    hooks: (config) => ({
      // The DefaultTolerationSeconds admission plugin: pods tolerate a not-ready or unreachable node for a while.
      admitCreate: async (pod: KubeObject) => {
        defaultTolerations(pod, config.defaultNotReadyTolerationSeconds, config.defaultUnreachableTolerationSeconds);
        await admitPodClasses(pod, config.storeFor);
      },
    }),
    subresources: {
      binding: async (request) => ({ code: 201, body: await bindPod(request.store, namespaceOf(request), request.name, await postBody(request)) }),
      eviction: async (request) => ({ code: 201, body: await evictPodHonouringBudgets({ pods: request.store, storeFor: request.storeFor, namespace: namespaceOf(request), name: request.name, body: await postBody(request), dryRun: request.dryRun }) }),
    },
  },
];

function namespaceOf(request: SubresourceRequest): string {
  return request.namespace ?? "";
}

/** binding and eviction are created, never read or replaced. */
async function postBody(request: SubresourceRequest): Promise<unknown> {
  if (request.method !== "POST") throw methodNotAllowed("the server does not allow this method on the requested resource");
  return request.json();
}

function success(code: number): Status {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
}

/**
 * POST pods/<name>/binding: sets spec.nodeName once and merges the binding's annotations into the pod's, as the
 * scheduler's bind does. Like Kubernetes, only the Binding is validated (target.kind Node or empty, target.name
 * set): the pod's other fields are the stored ones, unchanged, so they are not validated again.
 */
export async function bindPod(pods: ResourceStore, namespace: string, name: string, body: unknown): Promise<Status> {
  const target = isRecord(body) && isRecord(body.target) ? body.target : undefined;
  const nodeName = target && typeof target.name === "string" ? target.name : "";
  const targetKind = target && typeof target.kind === "string" ? target.kind : "";
  const errors: FieldError[] = [];
  if (targetKind !== "" && targetKind !== "Node") errors.push({ type: "FieldValueNotSupported", field: "target.kind", message: `Unsupported value: "${targetKind}": supported values: "Node", "<empty>"` });
  if (!nodeName) errors.push({ type: "FieldValueRequired", field: "target.name", message: "Required value" });
  if (errors.length > 0) throw invalid("Binding", "", name, errors);
  const metadata = isRecord(body) && isRecord(body.metadata) ? body.metadata : {};
  const bodyName = metadata.name;
  if (bodyName !== undefined && bodyName !== name) throw badRequest(`the name of the object (${typeof bodyName === "string" ? bodyName : JSON.stringify(bodyName)}) does not match the name on the URL (${name})`);
  const annotations = bindingAnnotations(metadata.annotations);
  await pods.rewrite(
    namespace,
    name,
    (pod) => {
      const spec = (isRecord(pod.spec) ? pod.spec : {}) as { nodeName?: string };
      // Kubernetes names the subresource in these conflicts (message and details.kind): "pods/binding".
      if (pod.metadata.deletionTimestamp) throw conflict("pods/binding", name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (spec.nodeName) throw conflict("pods/binding", name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      // The bound pod is built from new copies of the members it changes (metadata, spec, status); the rest is
      // shared with the stored pod, which must not change. Spread members keep their places, a new one comes last,
      // as assigning to a deep copy would have them.
      const bound: KubeObject = { ...pod, metadata: { ...pod.metadata }, spec: { ...spec, nodeName } };
      if (annotations !== undefined) bound.metadata.annotations = { ...pod.metadata.annotations, ...annotations };
      const status = isRecord(pod.status) ? pod.status : {};
      const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
      const scheduled = { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: formatTime(Date.now()) };
      bound.status = { ...status, conditions: [...conditions.filter((c) => !isRecord(c) || c.type !== "PodScheduled"), scheduled] };
      return bound;
    },
    { validate: false },
  );
  return success(201);
}

/** The binding's metadata.annotations (string values only, as a map[string]string decodes); undefined when none. */
function bindingAnnotations(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw badRequest(`metadata.annotations.${k}: a string is expected`);
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
