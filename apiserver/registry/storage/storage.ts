// storage.k8s.io: StorageClasses, CSIDrivers, CSINodes, CSIStorageCapacities and VolumeAttachments (whose status
// the attacher writes). Stored and served for the storage controllers and the scheduler's volume plugins.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const STORAGE_RESOURCES: readonly ResourceDefinition[] = [
  { group: "storage.k8s.io", resource: "storageclasses", strategy: () => PLAIN_STRATEGY },
  { group: "storage.k8s.io", resource: "csidrivers", strategy: () => PLAIN_STRATEGY },
  { group: "storage.k8s.io", resource: "csinodes", strategy: () => PLAIN_STRATEGY },
  { group: "storage.k8s.io", resource: "csistoragecapacities", strategy: () => PLAIN_STRATEGY },
  { group: "storage.k8s.io", resource: "volumeattachments", strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true }) },
];
