// The DefaultStorageClass admission plugin: a PersistentVolumeClaim created without spec.storageClassName gets the
// StorageClass annotated storageclass.kubernetes.io/is-default-class=true (the newest when several are, as in
// Kubernetes 1.28+). An explicit "" stays: it asks for no class. Without a default class nothing changes.
import type { PersistentVolumeClaim, StorageClass } from "../../api/types/index.js";
import type { AdmissionPlugin } from "./admission.js";

export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
export const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";

export function defaultStorageClassPlugin(): AdmissionPlugin {
  return {
    name: "DefaultStorageClass",
    enabledByDefault: true,
    async mutate(attributes) {
      if (attributes.info.group !== "" || attributes.info.resource !== "persistentvolumeclaims") return;
      const claim = attributes.object as PersistentVolumeClaim;
      if (!claim.spec || typeof claim.spec !== "object" || claim.spec.storageClassName !== undefined) return;
      const classes = attributes.storeFor("storage.k8s.io", "v1", "storageclasses");
      if (!classes) return;
      const chosen = defaultClass((await classes.list(undefined, { resourceVersion: "0" })).items);
      if (chosen) claim.spec.storageClassName = chosen;
    },
  };
}

/** The default class's name: the newest of those marked default (ties broken by name). */
export function defaultClass(classes: readonly StorageClass[]): string | undefined {
  const marked = classes.filter((c) => {
    const annotations = c.metadata.annotations ?? {};
    return annotations[DEFAULT_CLASS_ANNOTATION] === "true" || annotations[BETA_DEFAULT_CLASS_ANNOTATION] === "true";
  });
  marked.sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  return marked[0]?.metadata.name;
}
