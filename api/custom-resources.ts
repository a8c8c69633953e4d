// The ResourceInfo of a resource a CustomResourceDefinition defines: what the apiserver serves it as and what clients
// (the garbage collector) address it with. Written once here for both.
import { isRecord } from "./meta.js";
import { findResource, type GroupVersionKind, type ResourceInfo, type SubresourceInfo } from "./resources.js";

/** The fields of a CRD and of one of its versions this needs (apiextensions.k8s.io/v1 names). */
export interface CustomResourceDefinitionShape {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[]; categories?: string[] };
    versions?: { name?: string; served?: boolean; storage?: boolean; subresources?: { status?: unknown; scale?: unknown } }[];
  };
}

type VersionShape = NonNullable<NonNullable<CustomResourceDefinitionShape["spec"]>["versions"]>[number];

const CUSTOM_RESOURCE_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

/** The resource `version` of `crd` serves; stored under /registry/<group>/<plural>/ as Kubernetes stores it. */
export function customResourceInfo(crd: CustomResourceDefinitionShape, version: VersionShape): ResourceInfo {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const group = spec.group ?? "";
  const versionName = version.name ?? "";
  const kind = names.kind ?? "";
  const subresources: SubresourceInfo[] = [];
  const gvk = (k: GroupVersionKind): GroupVersionKind => k;
  if (isRecord(version.subresources?.status)) subresources.push({ name: "status", responseKind: gvk({ group, version: versionName, kind }), verbs: ["get", "patch", "update"] });
  if (isRecord(version.subresources?.scale)) subresources.push({ name: "scale", responseKind: gvk({ group: "autoscaling", version: "v1", kind: "Scale" }), verbs: ["get", "patch", "update"] });
  return {
    group,
    version: versionName,
    kind,
    listKind: names.listKind ?? `${kind}List`,
    resource: names.plural ?? "",
    singular: names.singular ?? kind.toLowerCase(),
    namespaced: spec.scope !== "Cluster",
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: CUSTOM_RESOURCE_VERBS,
    subresources,
    storageResource: `${group}/${names.plural ?? ""}`,
  };
}

/** The resource of a CRD's storage version, when the CRD is Established and not being deleted; else undefined. */
export function establishedStorageResource(crd: CustomResourceDefinitionShape & { metadata?: { deletionTimestamp?: string }; status?: unknown }): ResourceInfo | undefined {
  if (crd.metadata?.deletionTimestamp !== undefined) return undefined;
  const conditions = isRecord(crd.status) && Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
  if (!conditions.some((c) => isRecord(c) && c.type === "Established" && c.status === "True")) return undefined;
  const version = crd.spec?.versions?.find((v) => v.storage === true && v.served === true) ?? crd.spec?.versions?.find((v) => v.served === true);
  return version ? customResourceInfo(crd, version) : undefined;
}

/** apiextensions.k8s.io/v1 customresourcedefinitions: what controllers watch to follow custom resources. */
export function crdResource(): ResourceInfo {
  const info = findResource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  if (!info) throw new Error("apiextensions.k8s.io/v1 customresourcedefinitions missing from api/resources.ts");
  return info;
}

/** The namespaced custom resources of the Established CRDs among `crds` (what a namespace may hold besides built-ins). */
export function establishedNamespacedResources(crds: readonly (CustomResourceDefinitionShape & { metadata?: { deletionTimestamp?: string }; status?: unknown })[]): ResourceInfo[] {
  const infos: ResourceInfo[] = [];
  for (const crd of crds) {
    const info = establishedStorageResource(crd);
    if (info?.namespaced === true) infos.push(info);
  }
  return infos;
}
