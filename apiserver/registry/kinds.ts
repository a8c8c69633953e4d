// The one list of kind modules the apiserver serves. A resource in api/resources.ts is served only when a module
// here defines it; adding a kind means adding its module under registry/<family>/ and naming it here.
import { ADMISSIONREGISTRATION_RESOURCES } from "./admissionregistration/admissionregistration.js";
import { APIEXTENSIONS_RESOURCES } from "./apiextensions/crds.js";
import { AUTOSCALING_RESOURCES } from "./autoscaling/autoscaling.js";
import { BATCH_RESOURCES } from "./batch/batch.js";
import { APIREGISTRATION_RESOURCES } from "./apiregistration/apiservices.js";
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
import { NETWORKING_RESOURCES } from "./networking/networking.js";
import { NODE_RESOURCES } from "./nodes/nodes.js";
import { POD_RESOURCES } from "./pods/pods.js";
import { POLICY_RESOURCES } from "./policy/policy.js";
import { SCHEDULING_RESOURCES } from "./scheduling/scheduling.js";
import { SERVICE_RESOURCES } from "./services/services.js";
import { STORAGE_RESOURCES } from "./storage/storage.js";
import { CONTROLLER_REVISION_RESOURCES } from "./workloads/controllerrevisions.js";
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
  ...BATCH_RESOURCES,
  ...AUTOSCALING_RESOURCES,
  ...POLICY_RESOURCES,
  ...NETWORKING_RESOURCES,
  ...SCHEDULING_RESOURCES,
  ...STORAGE_RESOURCES,
  ...ADMISSIONREGISTRATION_RESOURCES,
  ...CONTROLLER_REVISION_RESOURCES,

  // MARK api-b kinds
  ...CORE_CLAIM_RESOURCES,
  ...COMPONENT_STATUS_RESOURCES,
  ...RBAC_RESOURCES,
  ...CERTIFICATE_RESOURCES,
  ...AUTH_REVIEW_RESOURCES,

  // MARK top kinds
  ...APIREGISTRATION_RESOURCES,

  ...APIEXTENSIONS_RESOURCES,
];

/** The definition serving `group`/`resource` (at `version`, when one names it); undefined when no module serves it. */
export function definitionFor(group: string, resource: string, version?: string): ResourceDefinition | undefined {
  const matches = RESOURCE_DEFINITIONS.filter((d) => d.group === group && d.resource === resource);
  return matches.find((d) => d.version !== undefined && d.version === version) ?? matches.find((d) => d.version === undefined);
}
