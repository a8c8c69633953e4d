// Renders api/wire-types.gen.ts: the JSON type of every field of the kinds kubelab serves, taken from the models of
// @kubernetes/client-node (generated from Kubernetes' OpenAPI document), for api/wire-types.ts to check request bodies
// the way Kubernetes' typed JSON decoding does. api/wire-types.test.ts checks that the file is current and rewrites it
// when run with UPDATE_WIRE_TYPES=1 (after upgrading @kubernetes/client-node).
import { createRequire } from "node:module";
import * as models from "@kubernetes/client-node";
import { readTypeDocs, type InterfaceDoc } from "./type-docs.js";

/** apiVersion/kind → root model. */
const ROOTS: Readonly<Record<string, string>> = {
  "v1/Namespace": "V1Namespace",
  "v1/Pod": "V1Pod",
  "apiextensions.k8s.io/v1/CustomResourceDefinition": "V1CustomResourceDefinition",
  "v1/Service": "V1Service",
  "v1/Endpoints": "V1Endpoints",
  "v1/Node": "V1Node",
  "v1/Event": "CoreV1Event",
  "v1/ConfigMap": "V1ConfigMap",
  "v1/Secret": "V1Secret",
  "v1/ServiceAccount": "V1ServiceAccount",
  "v1/ReplicationController": "V1ReplicationController",
  "apps/v1/Deployment": "V1Deployment",
  "apps/v1/ReplicaSet": "V1ReplicaSet",
  "apps/v1/DaemonSet": "V1DaemonSet",
  "apps/v1/StatefulSet": "V1StatefulSet",
  "coordination.k8s.io/v1/Lease": "V1Lease",
  "discovery.k8s.io/v1/EndpointSlice": "V1EndpointSlice",
  "events.k8s.io/v1/Event": "EventsV1Event",
  "autoscaling/v1/Scale": "V1Scale",
  "apiregistration.k8s.io/v1/APIService": "V1APIService",
  "v1/PersistentVolume": "V1PersistentVolume",
  "v1/PersistentVolumeClaim": "V1PersistentVolumeClaim",
  "v1/ResourceQuota": "V1ResourceQuota",
  "v1/LimitRange": "V1LimitRange",
  "v1/PodTemplate": "V1PodTemplate",
  "rbac.authorization.k8s.io/v1/Role": "V1Role",
  "rbac.authorization.k8s.io/v1/ClusterRole": "V1ClusterRole",
  "rbac.authorization.k8s.io/v1/RoleBinding": "V1RoleBinding",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "V1ClusterRoleBinding",
  "certificates.k8s.io/v1/CertificateSigningRequest": "V1CertificateSigningRequest",
  "authentication.k8s.io/v1/TokenRequest": "AuthenticationV1TokenRequest",
  "authentication.k8s.io/v1/TokenReview": "V1TokenReview",
  "authentication.k8s.io/v1/SelfSubjectReview": "V1SelfSubjectReview",
  "authorization.k8s.io/v1/SubjectAccessReview": "V1SubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "V1SelfSubjectAccessReview",
  "authorization.k8s.io/v1/LocalSubjectAccessReview": "V1LocalSubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectRulesReview": "V1SelfSubjectRulesReview",
  "batch/v1/Job": "V1Job",
  "batch/v1/CronJob": "V1CronJob",
  "autoscaling/v2/HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
  "autoscaling/v1/HorizontalPodAutoscaler": "V1HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget": "V1PodDisruptionBudget",
  "policy/v1/Eviction": "V1Eviction",
  "v1/Binding": "V1Binding",
  "v1/ComponentStatus": "V1ComponentStatus",
  "networking.k8s.io/v1/Ingress": "V1Ingress",
  "networking.k8s.io/v1/IngressClass": "V1IngressClass",
  "networking.k8s.io/v1/NetworkPolicy": "V1NetworkPolicy",
  "scheduling.k8s.io/v1/PriorityClass": "V1PriorityClass",
  "node.k8s.io/v1/RuntimeClass": "V1RuntimeClass",
  "storage.k8s.io/v1/StorageClass": "V1StorageClass",
  "storage.k8s.io/v1/CSINode": "V1CSINode",
  "storage.k8s.io/v1/CSIDriver": "V1CSIDriver",
  "storage.k8s.io/v1/CSIStorageCapacity": "V1CSIStorageCapacity",
  "storage.k8s.io/v1/VolumeAttachment": "V1VolumeAttachment",
  "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": "V1ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration": "V1MutatingWebhookConfiguration",
  "apps/v1/ControllerRevision": "V1ControllerRevision",
};

/**
 * resource.Quantity fields (Model.field, a single quantity or a map of them): the models type them as strings, but
 * Kubernetes also accepts JSON numbers there.
 */
const QUANTITIES: ReadonlySet<string> = new Set([
  "V1PodSpec.overhead",
  "V1ResourceFieldSelector.divisor",
  "V1ResourceRequirements.limits",
  "V1ResourceRequirements.requests",
  "V1EmptyDirVolumeSource.sizeLimit",
  "V1VolumeResourceRequirements.limits",
  "V1VolumeResourceRequirements.requests",
  "V1ContainerStatus.allocatedResources",
  "V1NodeStatus.allocatable",
  "V1NodeStatus.capacity",
  "V1PersistentVolumeClaimStatus.allocatedResources",
  "V1PersistentVolumeClaimStatus.capacity",
  "V1PersistentVolumeSpec.capacity",
  "V1ResourceQuotaSpec.hard",
  "V1ResourceQuotaStatus.hard",
  "V1ResourceQuotaStatus.used",
  "V1LimitRangeItem.default",
  "V1LimitRangeItem.defaultRequest",
  "V1LimitRangeItem.max",
  "V1LimitRangeItem.min",
  "V1LimitRangeItem.maxLimitRequestRatio",
  "V1Overhead.podFixed",
  "V1CSIStorageCapacity.capacity",
  "V1CSIStorageCapacity.maximumVolumeSize",
  "V2MetricTarget.averageValue",
  "V2MetricTarget.value",
  "V2MetricValueStatus.averageValue",
  "V2MetricValueStatus.value",
]);

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

function attributesOf(name: string): Attribute[] {
  const model = (models as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[name];
  if (typeof model?.getAttributeTypeMap !== "function") throw new Error(`no model ${name} in @kubernetes/client-node`);
  return model.getAttributeTypeMap();
}

/** The file's text. */
export function renderWireTypes(): string {
  const out = new Map<string, Record<string, string>>();
  const convert = (type: string, format: string, quantity: boolean): string => {
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return `[]${convert(array[1]!, format, quantity)}`;
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return `{}${convert(map[1]!, format, quantity)}`;
    switch (type) {
      case "string":
        return quantity ? "quantity" : "string";
      case "number":
        return format === "int32" || format === "int64" ? format : "number";
      case "boolean":
        return "boolean";
      case "Date":
      case "V1MicroTime":
        return "time";
      case "any":
      case "object":
        return "any";
      case "IntOrString":
        return "intorstring";
      default:
        visit(type);
        return type;
    }
  };
  const groupOf = new Map<string, string>();
  let group = "";
  const visit = (name: string): void => {
    if (out.has(name)) return;
    const fields: Record<string, string> = {};
    out.set(name, fields);
    groupOf.set(name, group);
    for (const attr of attributesOf(name)) fields[attr.baseName] = convert(attr.type, attr.format, QUANTITIES.has(`${name}.${attr.baseName}`));
  };
  for (const [gvk, root] of Object.entries(ROOTS)) {
    group = gvk.split("/").length === 3 ? gvk.split("/")[0]! : "";
    visit(root);
  }
  const docs = modelDocs(out, groupOf);

  const version = (createRequire(import.meta.url)("@kubernetes/client-node/package.json") as { version: string }).version;
  const key = (k: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));
  const lines = [
    `// Generated by test/support/wire-types-schema.ts from the models of @kubernetes/client-node ${version}. Do not edit;`,
    "// regenerate with UPDATE_WIRE_TYPES=1 npx vitest run --project unit api/wire-types.test.ts",
    "// Field types: string, int32, int64, number, boolean, time, any, intorstring, quantity, a model name, []T, {}T.",
    "",
    "export const WIRE_ROOTS: Readonly<Record<string, string>> = {",
    ...Object.entries(ROOTS).map(([gvk, model]) => `  ${JSON.stringify(gvk)}: ${JSON.stringify(model)},`),
    "};",
    "",
    "export const WIRE_MODELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {",
    ...[...out.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, fields]) => `  ${name}: { ${Object.entries(fields).map(([f, t]) => `${key(f)}: ${JSON.stringify(t)}`).join(", ")} },`),
    "};",
    "",
    "/** From api/meta.ts and api/types/*.ts: fields declared without `?`, string-literal unions, doc comments. */",
    "export interface WireModelDoc {",
    "  readonly description?: string;",
    "  readonly required?: readonly string[];",
    "  readonly enums?: Readonly<Record<string, readonly string[]>>;",
    "  readonly fields?: Readonly<Record<string, string>>;",
    "}",
    "",
    "export const WIRE_DOCS: Readonly<Record<string, WireModelDoc>> = {",
    ...[...docs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, doc]) => `  ${name}: ${JSON.stringify(doc)},`),
    "};",
    "",
  ];
  return lines.join("\n");
}

/** V1PodSpec → PodSpec, CoreV1Event → Event: the name of the project's interface for a model. */
function structName(model: string): string {
  return model.replace(/^[A-Z][a-z]*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "").replace(/^V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "");
}

/** The api/types file of a group: its first label, core for the core group, auth for authentication/authorization. */
function typesFileOf(group: string): string {
  const label = group === "" ? "core" : group.split(".")[0]!;
  return label === "authentication" || label === "authorization" ? "auth" : label;
}

interface ModelDoc {
  description?: string;
  required?: string[];
  enums?: Record<string, string[]>;
  fields?: Record<string, string>;
}

/**
 * Joins each model to the project's interface of the same struct name: the one in its group's file, else the only
 * one there is (api/meta.ts's, core's); ambiguous names get nothing. Only fields the model has are kept.
 */
function modelDocs(models: Map<string, Record<string, string>>, groupOf: Map<string, string>): Map<string, ModelDoc> {
  const byName = readTypeDocs();
  const result = new Map<string, ModelDoc>();
  for (const [model, fields] of models) {
    const candidates: InterfaceDoc[] = byName.get(structName(model)) ?? [];
    const file = typesFileOf(groupOf.get(model) ?? "");
    const found = candidates.find((c) => c.file === file) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (found === undefined) continue;
    const has = (f: string): boolean => Object.hasOwn(fields, f);
    const doc: ModelDoc = {};
    if (found.description !== undefined) doc.description = found.description;
    const required = found.required.filter(has);
    if (required.length > 0) doc.required = required;
    const enums = Object.fromEntries(Object.entries(found.enums).filter(([f]) => has(f)));
    if (Object.keys(enums).length > 0) doc.enums = enums;
    const fieldDocs = Object.fromEntries(Object.entries(found.fields).filter(([f]) => has(f)));
    if (Object.keys(fieldDocs).length > 0) doc.fields = fieldDocs;
    if (Object.keys(doc).length > 0) result.set(model, doc);
  }
  return result;
}
