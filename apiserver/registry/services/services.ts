// Services and what points at them: a Service's ClusterIP and NodePorts are allocated around its writes
// (allocation.ts over allocators.ts) and its type-dependent fields dropped when the type changes; Endpoints are
// upserted by PUT; EndpointSlices have no special rules.
import type { KubeObject } from "../../../api/meta.js";
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";
import { serviceHooks } from "./allocation.js";

export const SERVICE_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "",
    resource: "services",
    strategy: () => ({
      ...PLAIN_STRATEGY,
      statusSubresource: true,
      prepareForCreate: (svc) => {
        svc.status = { loadBalancer: {} };
      },
      prepareForUpdate: dropTypeDependentFields,
    }),
    hooks: (config) => serviceHooks(config.allocators),
  },
  { group: "", resource: "endpoints", strategy: () => ({ ...PLAIN_STRATEGY, allowCreateOnUpdate: true }) },
  { group: "discovery.k8s.io", resource: "endpointslices", strategy: () => PLAIN_STRATEGY },
];

interface ServicePortLike { nodePort?: number }
interface ServiceSpecLike { type?: string; ports?: ServicePortLike[]; externalTrafficPolicy?: string; clusterIP?: string; clusterIPs?: string[]; healthCheckNodePort?: number }

/**
 * Kubernetes' dropTypeDependentFields: when a Service changes type, the fields only the old type may have are
 * cleared unless the client changed them itself, so `kubectl patch svc x -p '{"spec":{"type":"ClusterIP"}}'` works.
 */
function dropTypeDependentFields(next: KubeObject, prev: KubeObject): void {
  const spec = next.spec as ServiceSpecLike | undefined;
  const old = prev.spec as ServiceSpecLike | undefined;
  if (!spec || !old || spec.type === old.type) return;
  const external = spec.type === "NodePort" || spec.type === "LoadBalancer";
  if (!external) {
    for (const [i, port] of (spec.ports ?? []).entries()) {
      if (port.nodePort !== undefined && port.nodePort === old.ports?.[i]?.nodePort) delete port.nodePort;
    }
    if (spec.externalTrafficPolicy === old.externalTrafficPolicy) delete spec.externalTrafficPolicy;
    delete spec.healthCheckNodePort;
  }
  if (spec.type === "ExternalName" && spec.clusterIP === old.clusterIP) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
}
