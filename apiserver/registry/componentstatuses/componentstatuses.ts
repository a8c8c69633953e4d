// ComponentStatus (deprecated in Kubernetes since 1.19, still served): computed at each read by probing the
// scheduler's and controller-manager's /healthz and etcd, never stored. Like Kubernetes, the apiserver probes fixed
// local addresses (the scheduler and controller-manager --port defaults on 127.0.0.1), so on a lab where they run
// elsewhere they read Unhealthy with the connection error.
import { errorMessage, notFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import type { ComponentStatus } from "../../../api/types/index.js";
import type { ComputedResource, ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export interface ProbeResult {
  healthy: boolean;
  /** The component's answer (a healthz body). */
  message?: string;
  /** Why it could not be asked, or what it said when unhealthy. */
  error?: string;
}

export interface ComponentProbe {
  readonly name: string;
  probe(): Promise<ProbeResult>;
}

const PROBE_TIMEOUT_MS = 2000;

/** A component healthy when GET `url` answers 200 ("ok"). */
export function httpComponentProbe(name: string, url: string): ComponentProbe {
  return {
    name,
    async probe() {
      try {
        const reply = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        const body = await reply.text();
        return reply.status === 200 ? { healthy: true, message: body } : { healthy: false, message: body, error: `HTTP probe failed with statuscode: ${reply.status}` };
      } catch (err) {
        const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
        return { healthy: false, error: `Get "${url}": ${errorMessage(err)}${cause}` };
      }
    },
  };
}

/** etcd, answered with the health document etcd's /health endpoint gives. */
export function etcdComponentProbe(name: string, healthy: () => Promise<boolean>): ComponentProbe {
  return {
    name,
    async probe() {
      const ok = await healthy().catch(() => false);
      return ok ? { healthy: true, message: '{"health":"true","reason":""}' } : { healthy: false, error: "etcd is not answering" };
    },
  };
}

export function componentStatusOf(name: string, result: ProbeResult): ComponentStatus {
  const condition: NonNullable<ComponentStatus["conditions"]>[number] = { type: "Healthy", status: result.healthy ? "True" : "False" };
  if (result.message !== undefined) condition.message = result.message;
  if (result.error !== undefined) condition.error = result.error;
  return { apiVersion: "v1", kind: "ComponentStatus", metadata: { name }, conditions: [condition] };
}

function componentStatuses(probes: readonly ComponentProbe[]): ComputedResource {
  return {
    warning: "v1 ComponentStatus is deprecated in v1.19+",
    async list(): Promise<KubeObject[]> {
      return Promise.all(probes.map(async (p) => componentStatusOf(p.name, await p.probe())));
    },
    async get({ name }): Promise<KubeObject> {
      const probe = probes.find((p) => p.name === name);
      if (!probe) throw notFound("componentstatus", name ?? "");
      return componentStatusOf(probe.name, await probe.probe());
    },
  };
}

export const COMPONENT_STATUS_RESOURCES: readonly ResourceDefinition[] = [
  { group: "", resource: "componentstatuses", strategy: () => PLAIN_STRATEGY, computed: (config) => componentStatuses(config.componentProbes ?? []) },
];
