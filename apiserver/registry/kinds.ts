// The one list of kind modules the apiserver serves. A resource in api/resources.ts is served only when a module
// here defines it; adding a kind means adding its module under registry/<family>/ and naming it here.
import { AUTH_REVIEW_RESOURCES } from "./auth/reviews.js";
import { CERTIFICATE_RESOURCES } from "./certificates/certificates.js";
import { COMPONENT_STATUS_RESOURCES } from "./componentstatuses/componentstatuses.js";
import { CONFIG_RESOURCES } from "./config/config.js";
import { CORE_CLAIM_RESOURCES } from "./core-claims/core-claims.js";
import { RBAC_RESOURCES } from "./rbac/rbac.js";
import { LEASE_RESOURCES } from "./coordination/leases.js";
import { EVENT_RESOURCES } from "./events/events.js";
import type { ResourceDefinition } from "./kind.js";
import { NAMESPACE_RESOURCES } from "./namespaces/namespaces.js";
import { NODE_RESOURCES } from "./nodes/nodes.js";
import { POD_RESOURCES } from "./pods/pods.js";
import { SERVICE_RESOURCES } from "./services/services.js";
import { WORKLOAD_RESOURCES } from "./workloads/workloads.js";

export const RESOURCE_DEFINITIONS: readonly ResourceDefinition[] = [
  ...NAMESPACE_RESOURCES,
  ...POD_RESOURCES,
  ...NODE_RESOURCES,
  ...SERVICE_RESOURCES,
  ...EVENT_RESOURCES,
  ...CONFIG_RESOURCES,
  ...WORKLOAD_RESOURCES,
  ...LEASE_RESOURCES,
  // MARK api-a kinds

  // MARK api-b kinds
  ...CORE_CLAIM_RESOURCES,
  ...COMPONENT_STATUS_RESOURCES,
  ...RBAC_RESOURCES,
  ...CERTIFICATE_RESOURCES,
  ...AUTH_REVIEW_RESOURCES,

  // MARK top kinds

];

/** The definition serving `group`/`resource`; undefined when no module serves it. */
export function definitionFor(group: string, resource: string): ResourceDefinition | undefined {
  return RESOURCE_DEFINITIONS.find((d) => d.group === group && d.resource === resource);
}
