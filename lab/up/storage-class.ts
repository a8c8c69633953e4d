// The lab's default StorageClass, as kind's: `standard`, annotated the default class so the DefaultStorageClass
// admission plugin gives it to every claim created without a class (a StatefulSet's volumeClaimTemplates too), with
// the controller-manager's kubelab.dev/local-path provisioner and WaitForFirstConsumer binding (a volume is made on
// the node the claim's first pod is scheduled to). Volumes live under the lab's home, so they go with the lab.
import { join } from "node:path";
import { labCreate } from "./api.js";
import type { LabConfig } from "./config.js";

export const DEFAULT_STORAGE_CLASS = "standard";

export function defaultStorageClass(config: LabConfig): Record<string, unknown> {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: "kubelab.dev/local-path",
    parameters: { path: join(config.home, "local-path") },
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/** Creates the class; one already there (made by another node, or changed by the user) is left as it is. */
export async function applyDefaultStorageClass(config: LabConfig): Promise<string> {
  const path = "/apis/storage.k8s.io/v1/storageclasses";
  return `storageclass/${DEFAULT_STORAGE_CLASS} ${await labCreate(config, path, defaultStorageClass(config))}`;
}
