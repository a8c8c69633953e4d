// PersistentVolumes, PersistentVolumeClaims, ResourceQuotas (each with a status subresource their controllers
// write), LimitRanges and PodTemplates: stored objects with no server rules beyond defaults and validation.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

const WITH_STATUS = { ...PLAIN_STRATEGY, statusSubresource: true };

export const CORE_CLAIM_RESOURCES: readonly ResourceDefinition[] = [
  { group: "", resource: "persistentvolumes", strategy: () => WITH_STATUS },
  { group: "", resource: "persistentvolumeclaims", strategy: () => WITH_STATUS },
  { group: "", resource: "resourcequotas", strategy: () => WITH_STATUS },
  { group: "", resource: "limitranges", strategy: () => PLAIN_STRATEGY },
  { group: "", resource: "podtemplates", strategy: () => PLAIN_STRATEGY },
];
