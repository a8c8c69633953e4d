// Object metadata: name rules per kind, labels, annotations, owner references, finalizers, and what an update may not change.
import type { FieldError } from "../errors.js";
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, validateLabelKey, validateLabelValue } from "../labels.js";
import type { ObjectMeta, OwnerReference } from "../meta.js";
import type { ResourceInfo } from "../resources.js";
import { forbidden, immutable, invalid, raw, required, tooLong } from "./field-errors.js";
import { isObj, listOf, objectsOf, sortedEntries, str } from "./helpers.js";
import { pathSegmentErrors, qualifiedNameErrors } from "./names.js";

type NameRule = (name: string, prefix: boolean) => string[];

/** The name rule of each kind, as Kubernetes' Validate<Kind>Name functions choose it. */
export function nameRuleFor(info: ResourceInfo): NameRule {
  // RBAC names (ValidateRBACName) and APIService names (`v1.`, `v1beta1.metrics.k8s.io`) need only be one URL path
  // segment, so `system:basic-user` is an RBAC name.
  if (info.group === "rbac.authorization.k8s.io") return (name) => pathSegmentErrors(name);
  const rule =
    info.group === "apiregistration.k8s.io" && info.kind === "APIService"
      ? pathSegmentErrors
      : info.group === "" && info.kind === "Namespace"
      ? isDNS1123Label
      : info.group === "" && info.kind === "Service"
        ? isDNS1035Label
        : isDNS1123Subdomain;
  // generateName is checked as a prefix: a trailing '-' is allowed (apimachinery's maskTrailingDash).
  return (name, prefix) => rule(prefix && name.length > 1 && name.endsWith("-") ? `${name.slice(0, -2)}a` : name);
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameRule: NameRule, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const m: ObjectMeta = isObj(meta) ? meta : {};
  if (m.generateName) {
    for (const msg of nameRule(str(m.generateName), true)) errs.push(invalid(`${path}.generateName`, m.generateName, msg));
  }
  if (!m.name) errs.push(required(`${path}.name`, "name or generateName is required"));
  else for (const msg of nameRule(str(m.name), false)) errs.push(invalid(`${path}.name`, m.name, msg));
  if (namespaced) {
    if (!m.namespace) errs.push(required(`${path}.namespace`));
    else for (const msg of isDNS1123Label(str(m.namespace))) errs.push(invalid(`${path}.namespace`, m.namespace, msg));
  } else if (m.namespace) {
    errs.push(forbidden(`${path}.namespace`, "not allowed on this type"));
  }
  if (typeof m.generation === "number" && m.generation < 0) errs.push(invalid(`${path}.generation`, m.generation, "must be greater than or equal to 0"));
  errs.push(...validateLabels(m.labels, `${path}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  for (const f of listOf(m.finalizers)) errs.push(...qualifiedNameErrors(`${path}.finalizers`, str(f)));
  return errs;
}

export function validateObjectMetaUpdate(next: ObjectMeta | undefined, prev: ObjectMeta | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const n: ObjectMeta = isObj(next) ? next : {};
  const p: ObjectMeta = isObj(prev) ? prev : {};
  if ((n.name ?? "") !== (p.name ?? "")) errs.push(immutable(`${path}.name`, n.name ?? ""));
  if ((n.namespace ?? "") !== (p.namespace ?? "")) errs.push(immutable(`${path}.namespace`, n.namespace ?? ""));
  // An update that leaves uid out keeps the stored one (rest.BeforeUpdate); only a different uid is a change.
  if (n.uid && p.uid && n.uid !== p.uid) errs.push(immutable(`${path}.uid`, n.uid));
  if (p.deletionTimestamp) {
    for (const f of listOf(n.finalizers)) {
      if (!listOf(p.finalizers).includes(f)) errs.push(forbidden(`${path}.finalizers`, `no new finalizers can be added if the object is being deleted, found new finalizers []string{${JSON.stringify(f)}}`));
    }
  }
  return errs;
}

/** Label maps (metadata.labels, selectors, nodeSelector): keys are qualified names, values label values. */
export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of sortedEntries(labels)) {
    errs.push(...qualifiedNameErrors(path, k));
    for (const msg of validateLabelValue(str(v))) errs.push(invalid(path, v, msg));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of sortedEntries(annotations)) {
    // Annotation keys are qualified names, but case does not matter.
    for (const msg of validateLabelKey(str(k.toLowerCase()))) errs.push(invalid(path, k, msg));
    size += Buffer.byteLength(k) + Buffer.byteLength(str(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function validateOwnerReferences(refs: OwnerReference[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let controller = "";
  for (const ref of objectsOf(refs)) {
    if (!isObj(ref)) continue;
    const version = (ref.apiVersion ?? "").split("/").pop() ?? "";
    if (!version) errs.push(invalid(`${path}.apiVersion`, ref.apiVersion ?? "", "version must not be empty"));
    if (!ref.kind) errs.push(invalid(`${path}.kind`, ref.kind ?? "", "must not be empty"));
    if (!ref.name) errs.push(invalid(`${path}.name`, ref.name ?? "", "must not be empty"));
    if (!ref.uid) errs.push(invalid(`${path}.uid`, ref.uid ?? "", "must not be empty"));
    if (ref.controller === true) {
      const current = `${ref.kind}/${ref.name}`;
      if (controller) {
        errs.push(invalid(path, raw("[]v1.OwnerReference{...}"), `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${current}`));
      } else {
        controller = current;
      }
    }
  }
  return errs;
}
