// CustomResourceDefinitions (apiextensions.k8s.io/v1): defaulting and validation of the CRD itself, as Kubernetes'
// apiextensions-apiserver does them. Serving the resources a CRD defines is custom-resources.ts's job; the status
// (NamesAccepted, Established, Terminating) is written by the CRD controller there.
import type { FieldError } from "../../../api/errors.js";
import { invalid as invalidObject, methodNotAllowed } from "../../../api/errors.js";
import { isDNS1035Label, isDNS1123Subdomain } from "../../../api/labels.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { duplicate, forbidden, immutable, invalid, notSupported, required } from "../../../api/validation/field-errors.js";
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";
import { parseJsonPath } from "./printer-columns.js";
import { validateStructural } from "./schema.js";
import { CLEANUP_FINALIZER, CRD_GROUP, type CustomResourceDefinition } from "./types.js";

/** Kubernetes' defaults for a CRD: singular and listKind from the kind, the None conversion strategy. */
export function defaultCRD(crd: CustomResourceDefinition): void {
  const spec = crd.spec;
  if (!isRecord(spec)) return;
  const names = spec.names;
  if (isRecord(names) && typeof names.kind === "string") {
    if (names.singular === undefined || names.singular === "") names.singular = names.kind.toLowerCase();
    if (names.listKind === undefined || names.listKind === "") names.listKind = `${names.kind}List`;
  }
  if (spec.conversion === undefined) spec.conversion = { strategy: "None" };
  else if (isRecord(spec.conversion) && spec.conversion.strategy === undefined) spec.conversion.strategy = "None";
  for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
    if (!isRecord(v)) continue;
    for (const c of Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []) {
      if (isRecord(c) && c.priority === undefined) c.priority = 0;
    }
  }
}

const COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"];

/** The rules of ValidateCustomResourceDefinition (and its update) that users meet. */
export function validateCRD(crd: CustomResourceDefinition, old?: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isRecord(crd.spec) ? crd.spec : {};
  const group = spec.group;
  const names = isRecord(spec.names) ? spec.names : {};
  const plural = names.plural;
  if (typeof group !== "string" || group === "") errs.push(required("spec.group", ""));
  else {
    for (const msg of isDNS1123Subdomain(group)) errs.push(invalid("spec.group", group, msg));
    if (group.split(".").length < 2) errs.push(invalid("spec.group", group, "should be a domain with at least one dot"));
  }
  const name = crd.metadata.name ?? "";
  if (typeof group === "string" && typeof plural === "string" && name !== `${plural}.${group}`) {
    errs.push(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") {
    if (spec.scope === undefined || spec.scope === "") errs.push(required("spec.scope", ""));
    else errs.push(notSupported("spec.scope", spec.scope, ["Cluster", "Namespaced"]));
  }
  errs.push(...validateNames(names, "spec.names"));
  const strategy = isRecord(spec.conversion) ? spec.conversion.strategy : "None";
  if (strategy !== "None" && strategy !== "Webhook") errs.push(notSupported("spec.conversion.strategy", strategy, ["None", "Webhook"]));
  if (strategy === "Webhook") errs.push(forbidden("spec.conversion.strategy", "kubelab serves only the None conversion strategy"));
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errs.push(invalid("spec.versions", [], "must have exactly one version marked as storage version"));
  else if (versions.filter((v) => isRecord(v) && v.storage === true).length !== 1) {
    errs.push(invalid("spec.versions", versions.map((v) => (isRecord(v) ? v.name : v)), "must have exactly one version marked as storage version"));
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const path = `spec.versions[${i}]`;
    if (!isRecord(v)) {
      errs.push(invalid(path, v, "must be an object"));
      return;
    }
    if (typeof v.name !== "string" || v.name === "") errs.push(required(`${path}.name`, ""));
    else {
      for (const msg of isDNS1035Label(v.name)) errs.push(invalid(`${path}.name`, v.name, msg));
      if (seen.has(v.name)) errs.push(duplicate(`${path}.name`, v.name));
      seen.add(v.name);
    }
    if (typeof v.served !== "boolean") errs.push(required(`${path}.served`, ""));
    if (typeof v.storage !== "boolean") errs.push(required(`${path}.storage`, ""));
    const schema = isRecord(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (schema === undefined) errs.push(required(`${path}.schema.openAPIV3Schema`, "schemas are required"));
    else errs.push(...validateStructural(schema, `${path}.schema.openAPIV3Schema`));
    const scale = isRecord(v.subresources) ? v.subresources.scale : undefined;
    if (isRecord(scale)) {
      const sp = `${path}.subresources.scale`;
      if (typeof scale.specReplicasPath !== "string" || scale.specReplicasPath === "") errs.push(required(`${sp}.specReplicasPath`, ""));
      else if (!scale.specReplicasPath.startsWith(".spec.")) errs.push(invalid(`${sp}.specReplicasPath`, scale.specReplicasPath, "should be a json path under .spec"));
      if (typeof scale.statusReplicasPath !== "string" || scale.statusReplicasPath === "") errs.push(required(`${sp}.statusReplicasPath`, ""));
      else if (!scale.statusReplicasPath.startsWith(".status.")) errs.push(invalid(`${sp}.statusReplicasPath`, scale.statusReplicasPath, "should be a json path under .status"));
      if (typeof scale.labelSelectorPath === "string" && !/^\.(spec|status)\./.test(scale.labelSelectorPath)) {
        errs.push(invalid(`${sp}.labelSelectorPath`, scale.labelSelectorPath, "should be a json path under either .spec or .status"));
      }
    }
    const columns = Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : [];
    columns.forEach((c, j) => {
      const cp = `${path}.additionalPrinterColumns[${j}]`;
      if (!isRecord(c)) return;
      if (typeof c.name !== "string" || c.name === "") errs.push(required(`${cp}.name`, ""));
      if (typeof c.type !== "string" || !COLUMN_TYPES.includes(c.type)) {
        if (c.type === undefined) errs.push(required(`${cp}.type`, ""));
        else errs.push(notSupported(`${cp}.type`, c.type, COLUMN_TYPES));
      }
      if (typeof c.jsonPath !== "string" || c.jsonPath === "") errs.push(required(`${cp}.jsonPath`, ""));
      else if (parseJsonPath(c.jsonPath) === undefined) errs.push(invalid(`${cp}.jsonPath`, c.jsonPath, "must be a simple json path starting with ."));
    });
  });
  if (old !== undefined) {
    const oldSpec = isRecord(old.spec) ? old.spec : {};
    if (oldSpec.scope !== spec.scope) errs.push(immutable("spec.scope", spec.scope));
    const stored = old.status?.storedVersions ?? [];
    for (const v of stored) {
      if (!versions.some((x) => isRecord(x) && x.name === v)) {
        errs.push(invalid("status.storedVersions", stored, `must appear in spec.versions`));
        break;
      }
    }
  }
  return errs;
}

function validateNames(names: Record<string, unknown>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const field of ["plural", "singular"]) {
    const value = names[field];
    if (value === undefined || value === "") {
      if (field === "plural") errs.push(required(`${path}.${field}`, ""));
      continue;
    }
    if (typeof value !== "string") errs.push(invalid(`${path}.${field}`, value, "must be a string"));
    else for (const msg of isDNS1035Label(value)) errs.push(invalid(`${path}.${field}`, value, msg));
  }
  for (const field of ["kind", "listKind"]) {
    const value = names[field];
    if (value === undefined || value === "") errs.push(required(`${path}.${field}`, ""));
    else if (typeof value !== "string" || !/^[A-Za-z][-A-Za-z0-9]*$/.test(value)) {
      errs.push(invalid(`${path}.${field}`, value, "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?"));
    }
  }
  if (names.kind !== undefined && names.kind === names.listKind) errs.push(invalid(`${path}.listKind`, names.listKind, "kind and listKind may not be the same"));
  const shortNames = Array.isArray(names.shortNames) ? names.shortNames : [];
  shortNames.forEach((s, i) => {
    if (typeof s !== "string") errs.push(invalid(`${path}.shortNames[${i}]`, s, "must be a string"));
    else for (const msg of isDNS1035Label(s)) errs.push(invalid(`${path}.shortNames[${i}]`, s, msg));
  });
  return errs;
}

/** The version whose objects are stored. */
export function storageVersion(crd: CustomResourceDefinition): string | undefined {
  return crd.spec?.versions?.find((v) => v.storage === true)?.name;
}

function throwIfInvalid(crd: CustomResourceDefinition, errs: FieldError[]): void {
  if (errs.length > 0) throw invalidObject("CustomResourceDefinition", CRD_GROUP, crd.metadata.name ?? "", errs);
}

export const APIEXTENSIONS_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: CRD_GROUP,
    resource: "customresourcedefinitions",
    strategy: () => ({
      ...PLAIN_STRATEGY,
      statusSubresource: true,
      tracksGeneration: true,
      prepareForCreate(object: KubeObject): void {
        const crd = object as CustomResourceDefinition;
        defaultCRD(crd);
        // Kubernetes records the storage version at creation and adds the cleanup finalizer on deletion; kubelab
        // adds the finalizer at creation, so a DELETE by any client leaves the CRD Terminating for its controller.
        const stored = storageVersion(crd);
        crd.status = { conditions: [], acceptedNames: { plural: "", kind: "" }, storedVersions: stored ? [stored] : [] };
        const finalizers = crd.metadata.finalizers ?? [];
        if (!finalizers.includes(CLEANUP_FINALIZER)) crd.metadata.finalizers = [...finalizers, CLEANUP_FINALIZER];
      },
      prepareForUpdate(next: KubeObject, prev: KubeObject): void {
        const crd = next as CustomResourceDefinition;
        defaultCRD(crd);
        const stored = new Set((prev as CustomResourceDefinition).status?.storedVersions ?? []);
        const version = storageVersion(crd);
        if (version !== undefined && crd.status !== undefined && !stored.has(version)) crd.status.storedVersions = [...stored, version];
        throwIfInvalid(crd, validateCRD(crd, prev));
      },
    }),
    hooks: () => ({
      admitCreate: (object: KubeObject): Promise<void> => {
        const crd = object as CustomResourceDefinition;
        throwIfInvalid(crd, validateCRD(crd));
        return Promise.resolve();
      },
    }),
  },
];

/** The 405 Kubernetes answers to a create of a custom resource whose CRD is being deleted. */
export function terminatingCreate(): Error {
  return methodNotAllowed("create not allowed while custom resource definition is terminating");
}
