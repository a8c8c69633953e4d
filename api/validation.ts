// Validation: the rules of k8s.io/kubernetes pkg/apis/*/validation, run by the registry after defaulting on every
// create (validateObject) and update (validateUpdate). Each FieldError's `field` and `message` are what Kubernetes
// puts in a 422's details.causes, so kubectl prints the same `* spec.containers[0].image: Required value` lines.
//
// Input is an unvalidated client body that passed only JSON parsing: every accessor below tolerates missing or
// wrongly typed fields without throwing.
import { isIP } from "node:net";
import type { FieldError } from "./errors.js";
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIANASvcName,
  selectorFromLabelSelector,
  validateLabelKey,
  validateLabelValue,
} from "./labels.js";
import type { KubeObject, LabelSelector, ObjectMeta, OwnerReference } from "./meta.js";
import { compareQuantities, formatQuantity, parseQuantity, quantityError, type Quantity } from "./quantity.js";
import type { ResourceInfo } from "./resources.js";
import { toCoreEvent } from "./events-conversion.js";
import type {
  ConfigMap,
  Container,
  CoreEvent,
  DaemonSet,
  Deployment,
  EndpointSlice,
  Endpoints,
  EnvVar,
  HTTPGetAction,
  IntOrString,
  KeyToPath,
  Lease,
  LifecycleHandler,
  Namespace,
  Node,
  NodeSelectorRequirement,
  ObjectFieldSelector,
  Pod,
  PodAffinityTerm,
  PodSpec,
  PodTemplateSpec,
  Probe,
  ReplicaSet,
  ReplicationController,
  ResourceRequirements,
  Secret,
  Service,
  StatefulSet,
  Toleration,
  Volume,
} from "./types/index.js";

// ---------------------------------------------------------------------------------------------------------------
// Entry points

/** Validates a whole object as Kubernetes does on create. An empty list means valid. */
export function validateObject(info: ResourceInfo, obj: KubeObject): FieldError[] {
  const kind = `${info.group}/${info.kind}`;
  // Core events skip the object-metadata rules (legacyValidateEvent); everything else starts with them.
  const errs: FieldError[] = kind === "/Event" ? [] : validateObjectMeta(obj.metadata, info.namespaced, nameRuleFor(info), "metadata");
  switch (kind) {
    case "/Pod":
      errs.push(...validatePodSpec((obj as Pod).spec, "spec"));
      break;
    case "/Service":
      errs.push(...validateService(obj));
      break;
    case "/Endpoints":
      errs.push(...validateEndpoints(obj));
      break;
    case "/Node":
      errs.push(...validateNode(obj));
      break;
    case "/Namespace":
      errs.push(...validateNamespace(obj));
      break;
    case "/Event":
      errs.push(...validateCoreEvent(obj as CoreEvent, false));
      break;
    case "events.k8s.io/Event":
      errs.push(...validateCoreEvent(toCoreEvent(obj), true));
      break;
    case "/ConfigMap":
      errs.push(...validateConfigMap(obj));
      break;
    case "/Secret":
      errs.push(...validateSecret(obj));
      break;
    case "/ReplicationController":
      errs.push(...validateReplicationController(obj));
      break;
    case "apps/Deployment":
      errs.push(...validateDeployment(obj));
      break;
    case "apps/ReplicaSet":
      errs.push(...validateReplicaSet(obj));
      break;
    case "apps/DaemonSet":
      errs.push(...validateDaemonSet(obj));
      break;
    case "apps/StatefulSet":
      errs.push(...validateStatefulSet(obj));
      break;
    case "coordination.k8s.io/Lease":
      errs.push(...validateLease(obj));
      break;
    case "discovery.k8s.io/EndpointSlice":
      errs.push(...validateEndpointSlice(obj as EndpointSlice));
      break;
    default:
      // ServiceAccount: metadata only.
      break;
  }
  return errs;
}

/**
 * Validates an update: the create rules on `next`, plus metadata and kind-specific immutability against `prev`.
 * `next` is the object about to be stored (defaulted, with server-set fields such as the service's cluster IP
 * carried over where the client left them out).
 */
export function validateUpdate(info: ResourceInfo, next: KubeObject, prev: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, prev.metadata, "metadata");
  switch (`${info.group}/${info.kind}`) {
    case "/Pod":
      errs.push(...validatePodUpdate(next, prev));
      break;
    case "/Service":
      errs.push(...validateServiceUpdate(next, prev));
      break;
    case "/Node":
      errs.push(...validateNodeUpdate(next, prev));
      break;
    case "/ConfigMap":
      errs.push(...validateImmutableData(next as ConfigMap, prev as ConfigMap, ["data", "binaryData"]));
      break;
    case "/Secret":
      errs.push(...validateImmutableData(next as Secret, prev as Secret, ["data"]));
      if ((next as Secret).type !== (prev as Secret).type) errs.push(immutable("type", (next as Secret).type));
      break;
    case "apps/Deployment":
    case "apps/ReplicaSet":
    case "apps/DaemonSet": {
      const sel = specOf(next).selector;
      if (!deepEqual(sel, specOf(prev).selector)) errs.push(immutable("spec.selector", raw(goLabelSelector(sel))));
      break;
    }
    case "apps/StatefulSet":
      errs.push(...validateStatefulSetUpdate(next, prev));
      break;
    case "discovery.k8s.io/EndpointSlice":
      if ((next as EndpointSlice).addressType !== (prev as EndpointSlice).addressType) {
        errs.push(immutable("addressType", (next as EndpointSlice).addressType));
      }
      break;
    default:
      break;
  }
  errs.push(...validateObject(info, next));
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Field errors, rendered as Kubernetes' field.Error.ErrorBody() renders them

/** A value already rendered in Go syntax (`v1.LabelSelector{...}`), printed verbatim. */
class GoValue {
  constructor(readonly text: string) {}
}

function raw(text: string): GoValue {
  return new GoValue(text);
}

/** `%q` for strings, `%v` for numbers and booleans, `%#v` for maps and slices, `null` for absent values. */
function goValue(value: unknown): string {
  if (value instanceof GoValue) return value.text;
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return str(value);
  if (Array.isArray(value)) {
    return value.every((v) => typeof v === "string") ? goStringSlice(value) : JSON.stringify(value);
  }
  if (isRecordValue(value) && Object.values(value).every((v) => typeof v === "string")) {
    return goStringMap(value as Record<string, string>);
  }
  return JSON.stringify(value);
}

function goStringMap(map: Record<string, string> | undefined): string {
  if (!isObj(map)) return "map[string]string(nil)";
  const body = Object.keys(map)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(str(map[k]))}`)
    .join(", ");
  return `map[string]string{${body}}`;
}

function goStringSlice(values: readonly string[] | undefined): string {
  if (!Array.isArray(values)) return "[]string(nil)";
  return `[]string{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
}

/** `%#v` of an IntOrString, as Kubernetes prints it in field errors. */
function goIntOrString(value: IntOrString | undefined): string {
  if (typeof value === "string") return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(value)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${typeof value === "number" ? value : 0}, StrVal:""}`;
}

/** `%#v` of a metav1.LabelSelector. */
function goLabelSelector(sel: unknown): string {
  if (!isRecordValue(sel)) return "null";
  const s = sel as LabelSelector;
  const exprs = Array.isArray(s.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${goStringSlice(e.values)}}`)
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:${exprs}}`;
}

function withDetail(body: string, detail: string): string {
  return detail ? `${body}: ${detail}` : body;
}

function required(field: string, detail = ""): FieldError {
  return { type: "FieldValueRequired", field, message: withDetail("Required value", detail) };
}

function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: withDetail(`Invalid value: ${goValue(value)}`, detail) };
}

function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const detail = supported.length ? `supported values: ${supported.map((v) => JSON.stringify(v)).join(", ")}` : "";
  return { type: "FieldValueNotSupported", field, message: withDetail(`Unsupported value: ${goValue(value)}`, detail) };
}

function duplicate(field: string, value: unknown): FieldError {
  return { type: "FieldValueDuplicate", field, message: `Duplicate value: ${goValue(value)}` };
}

function forbidden(field: string, detail: string): FieldError {
  return { type: "FieldValueForbidden", field, message: withDetail("Forbidden", detail) };
}

function tooLong(field: string, maxBytes: number): FieldError {
  return { type: "FieldValueTooLong", field, message: `Too long: must have at most ${maxBytes} bytes` };
}

function tooMany(field: string, actual: number, max: number): FieldError {
  return { type: "FieldValueTooMany", field, message: `Too many: ${actual}: must have at most ${max} items` };
}

/**
 * Kubernetes' field.NotFound ("Not found: ..."). errors.ts has no FieldValueNotFound reason, so the cause carries
 * FieldValueInvalid; the message, which is what kubectl prints, is Kubernetes'.
 */
function notFound(field: string, value: unknown): FieldError {
  return { type: "FieldValueNotFound", field, message: `Not found: ${goValue(value)}` };
}

function immutable(field: string, value: unknown): FieldError {
  return invalid(field, value, "field is immutable");
}

// ---------------------------------------------------------------------------------------------------------------
// Names and other string formats (k8s.io/apimachinery/pkg/util/validation)

const CONFIG_MAP_KEY = "[-._a-zA-Z0-9]+";
const PERCENT = "[0-9]+%";

/** Kubernetes' RegexError: the message, examples, and the regex itself. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e, i) => `${i > 0 ? " or " : ""}'${e}', `).join("")}regex used for validation is '${fmt}')`;
}

function matchesWhole(fmt: string, value: string): boolean {
  return new RegExp(`^(?:${fmt})$`).test(value);
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Names that become a URL path segment (core events, whose names are otherwise free-form). */
function pathSegmentErrors(value: string): string[] {
  if (value === ".") return ["may not be '.'"];
  if (value === "..") return ["may not be '..'"];
  const errs: string[] = [];
  for (const ch of ["/", "%"]) if (value.includes(ch)) errs.push(`may not contain '${ch}'`);
  return errs;
}

function configMapKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!matchesWhole(CONFIG_MAP_KEY, value)) {
    errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY, "key.name", "KEY_NAME", "key-name"));
  }
  if (value === ".") errs.push("must not be '.'");
  else if (value === "..") errs.push("must not be '..'");
  else if (value.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

function portNumErrors(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ["must be between 1 and 65535, inclusive"];
}

/** Environment variable names, with the relaxed rule Kubernetes 1.32 applies by default. */
function envVarNameErrors(name: string): string[] {
   
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(name) ? [] : ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
}

const IP_EXAMPLE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

function ipErrors(field: string, value: string): FieldError[] {
  return isIP(value) === 0 ? [invalid(field, value, IP_EXAMPLE)] : [];
}

function cidrErrors(field: string, value: string): FieldError[] {
  const [ip, bits, extra] = value.split("/");
  const family = isIP(ip ?? "");
  const n = Number(bits);
  const ok = extra === undefined && family !== 0 && bits !== undefined && /^[0-9]+$/.test(bits) && n <= (family === 4 ? 32 : 128);
  return ok ? [] : [invalid(field, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")];
}

/** Qualified names (label keys, annotation keys, finalizers, condition types): the labels module's rule. */
function qualifiedNameErrors(field: string, value: unknown): FieldError[] {
  return validateLabelKey(str(value)).map((msg) => invalid(field, value, msg));
}

// ---------------------------------------------------------------------------------------------------------------
// Object metadata

type NameRule = (name: string, prefix: boolean) => string[];

/** The name rule of each kind, as Kubernetes' Validate<Kind>Name functions choose it. */
function nameRuleFor(info: ResourceInfo): NameRule {
  const rule =
    info.group === "" && info.kind === "Namespace"
      ? isDNS1123Label
      : info.group === "" && info.kind === "Service"
        ? isDNS1035Label
        : isDNS1123Subdomain;
  // generateName is checked as a prefix: a trailing '-' is allowed (apimachinery's maskTrailingDash).
  return (name, prefix) => rule(prefix && name.length > 1 && name.endsWith("-") ? `${name.slice(0, -2)}a` : name);
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameRule: NameRule, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const m: ObjectMeta = isObj(meta) ? meta : {};
  if (m.generateName) {
    for (const msg of nameRule(m.generateName, true)) errs.push(invalid(`${path}.generateName`, m.generateName, msg));
  }
  if (!m.name) errs.push(required(`${path}.name`, "name or generateName is required"));
  else for (const msg of nameRule(m.name, false)) errs.push(invalid(`${path}.name`, m.name, msg));
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

function validateObjectMetaUpdate(next: ObjectMeta | undefined, prev: ObjectMeta | undefined, path: string): FieldError[] {
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
function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of sortedEntries(labels)) {
    errs.push(...qualifiedNameErrors(path, k));
    for (const msg of validateLabelValue(str(v))) errs.push(invalid(path, v, msg));
  }
  return errs;
}

function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
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

// ---------------------------------------------------------------------------------------------------------------
// Label selectors

function validateLabelSelector(sel: LabelSelector | undefined, path: string): FieldError[] {
  if (!isObj(sel)) return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  objectsOf(sel.matchExpressions).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = listOf(req.values);
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(`${p}.operator`, req.operator, "not a valid selector operator"));
    }
    errs.push(...qualifiedNameErrors(`${p}.key`, str(req.key ?? "")));
    values.forEach((v, j) => {
      for (const msg of validateLabelValue(str(v))) errs.push(invalid(`${p}.values[${j}]`, v, msg));
    });
  });
  return errs;
}

function selectorIsEmpty(sel: LabelSelector | undefined): boolean {
  return !isObj(sel) || (Object.keys(sel.matchLabels ?? {}).length === 0 && objectsOf(sel.matchExpressions).length === 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Pod spec

const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
const RESTART_POLICIES = ["Always", "OnFailure", "Never"] as const;
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] as const;
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"] as const;
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
const HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"] as const;
const ENV_FIELD_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
] as const;
const VOLUME_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"] as const;
const RESOURCE_FIELD_REFS = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"] as const;
const FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive";
const MAX_INT32 = 2147483647;

function includes(values: readonly string[], v: unknown): boolean {
  return typeof v === "string" && values.includes(v);
}

/** A pod spec, in a pod (`spec`) or a template (`spec.template.spec`). */
function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const s: Partial<PodSpec> = isObj(spec) ? spec : {};
  const errs: FieldError[] = [];
  const volumeNames = validateVolumes(s.volumes, `${path}.volumes`, errs);
  const containers = objectsOf(s.containers);
  const initContainers = objectsOf(s.initContainers);

  if (containers.length === 0) errs.push(required(`${path}.containers`));
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    errs.push(...validateContainer(c, p, volumeNames));
    if (!isObj(c)) return;
    if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    errs.push(...validateProbe(c.livenessProbe, `${p}.livenessProbe`, true));
    errs.push(...validateProbe(c.readinessProbe, `${p}.readinessProbe`, false));
    errs.push(...validateProbe(c.startupProbe, `${p}.startupProbe`, true));
  });
  errs.push(...uniqueHostPorts(containers, `${path}.containers`));

  // Init container names must also be unique across both lists (validateInitContainers).
  initContainers.forEach((c, i) => {
    const p = `${path}.initContainers[${i}]`;
    errs.push(...validateContainer(c, p, volumeNames));
    if (!isObj(c)) return;
    if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    if (c.restartPolicy !== undefined && c.restartPolicy !== "Always") errs.push(notSupported(`${p}.restartPolicy`, c.restartPolicy, ["Always"]));
    const sidecar = c.restartPolicy === "Always";
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      if (c[probe] === undefined) continue;
      if (!sidecar) errs.push(forbidden(`${p}.${probe}`, "may not be set for init containers without restartPolicy=Always"));
      else errs.push(...validateProbe(c[probe], `${p}.${probe}`, probe !== "readinessProbe"));
    }
  });
  errs.push(...uniqueHostPorts(initContainers, `${path}.initContainers`));

  if (!s.restartPolicy) errs.push(required(`${path}.restartPolicy`));
  else if (!includes(RESTART_POLICIES, s.restartPolicy)) errs.push(notSupported(`${path}.restartPolicy`, s.restartPolicy, RESTART_POLICIES));
  if (!s.dnsPolicy) errs.push(required(`${path}.dnsPolicy`));
  else if (!includes(DNS_POLICIES, s.dnsPolicy)) errs.push(notSupported(`${path}.dnsPolicy`, s.dnsPolicy, DNS_POLICIES));
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  errs.push(...validateAffinity(s.affinity, `${path}.affinity`));
  objectsOf(s.readinessGates).forEach((g, i) => errs.push(...qualifiedNameErrors(`${path}.readinessGates[${i}].conditionType`, str(g.conditionType ?? ""))));
  if (s.serviceAccountName) {
    for (const msg of isDNS1123Subdomain(str(s.serviceAccountName))) errs.push(invalid(`${path}.serviceAccountName`, s.serviceAccountName, msg));
  }
  if (s.nodeName) for (const msg of isDNS1123Subdomain(str(s.nodeName))) errs.push(invalid(`${path}.nodeName`, s.nodeName, msg));
  if (s.activeDeadlineSeconds !== undefined && (s.activeDeadlineSeconds < 1 || s.activeDeadlineSeconds > MAX_INT32)) {
    errs.push(invalid(`${path}.activeDeadlineSeconds`, s.activeDeadlineSeconds, `must be between 1 and ${MAX_INT32}, inclusive`));
  }
  if (s.hostname) for (const msg of isDNS1123Label(str(s.hostname))) errs.push(invalid(`${path}.hostname`, s.hostname, msg));
  if (s.subdomain) for (const msg of isDNS1123Label(str(s.subdomain))) errs.push(invalid(`${path}.subdomain`, s.subdomain, msg));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  if (s.hostNetwork === true) {
    // With the host's network, a container's port is the host port (validatePodHostNetworkDeps).
    [...containers.map((c, i) => [c, `${path}.containers[${i}]`] as const), ...initContainers.map((c, i) => [c, `${path}.initContainers[${i}]`] as const)].forEach(([c, p]) => {
      objectsOf(c.ports).forEach((port, j) => {
        if (port.hostPort !== undefined && port.hostPort !== port.containerPort) {
          errs.push(invalid(`${p}.ports[${j}].hostPort`, port.hostPort, "must match `containerPort` when `hostNetwork` is true"));
        }
      });
    });
  }
  return errs;
}

function validateContainer(c: Container, path: string, volumeNames: ReadonlySet<string>): FieldError[] {
  if (!isObj(c)) return [required(path)];
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${path}.name`));
  else for (const msg of isDNS1123Label(str(c.name))) errs.push(invalid(`${path}.name`, c.name, msg));
  if (!c.image) errs.push(required(`${path}.image`));
  else if (typeof c.image === "string" && c.image !== c.image.trim()) errs.push(invalid(`${path}.image`, c.image, "must not have leading or trailing whitespace"));
  if (!c.terminationMessagePolicy) errs.push(required(`${path}.terminationMessagePolicy`));
  else if (!includes(TERMINATION_MESSAGE_POLICIES, c.terminationMessagePolicy)) {
    errs.push(notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
  }
  errs.push(...validateContainerPorts(c, path));
  errs.push(...validateEnv(c.env, `${path}.env`));
  errs.push(...validateEnvFrom(c.envFrom, `${path}.envFrom`));
  errs.push(...validateVolumeMounts(c, `${path}.volumeMounts`, volumeNames));
  errs.push(...validateResources(c.resources, `${path}.resources`));
  if (isObj(c.lifecycle)) {
    if (c.lifecycle.postStart) errs.push(...validateHandler(c.lifecycle.postStart, `${path}.lifecycle.postStart`));
    if (c.lifecycle.preStop) errs.push(...validateHandler(c.lifecycle.preStop, `${path}.lifecycle.preStop`));
  }
  if (!c.imagePullPolicy) errs.push(required(`${path}.imagePullPolicy`));
  else if (!includes(PULL_POLICIES, c.imagePullPolicy)) errs.push(notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  return errs;
}

function validateContainerPorts(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  objectsOf(c.ports).forEach((port, i) => {
    const p = `${path}.ports[${i}]`;
    if (!isObj(port)) return;
    if (port.name) {
      const msgs = isIANASvcName(str(port.name));
      for (const msg of msgs) errs.push(invalid(`${p}.name`, port.name, msg));
      if (msgs.length === 0 && names.has(port.name)) errs.push(duplicate(`${p}.name`, port.name));
      names.add(port.name);
    }
    if (!port.containerPort) errs.push(required(`${p}.containerPort`));
    else for (const msg of portNumErrors(port.containerPort)) errs.push(invalid(`${p}.containerPort`, port.containerPort, msg));
    if (port.hostPort) for (const msg of portNumErrors(port.hostPort)) errs.push(invalid(`${p}.hostPort`, port.hostPort, msg));
    if (!port.protocol) errs.push(required(`${p}.protocol`));
    else if (!includes(PROTOCOLS, port.protocol)) errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
  });
  return errs;
}

/** Host ports (protocol, host IP, port) are unique across a container list (AccumulateUniqueHostPorts). */
function uniqueHostPorts(containers: readonly Container[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    if (!isObj(c)) return;
    objectsOf(c.ports).forEach((port, pi) => {
      if (!port.hostPort) return;
      const key = `${port.protocol ?? ""}/${port.hostIP ?? ""}/${port.hostPort}`;
      if (seen.has(key)) errs.push(duplicate(`${path}[${ci}].ports[${pi}].hostPort`, key));
      seen.add(key);
    });
  });
  return errs;
}

function validateEnv(env: EnvVar[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(env).forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(e)) return;
    if (!e.name) errs.push(required(`${p}.name`));
    else for (const msg of envVarNameErrors(str(e.name))) errs.push(invalid(`${p}.name`, e.name, msg));
    if (e.valueFrom === undefined) return;
    const from = isObj(e.valueFrom) ? e.valueFrom : {};
    const fp = `${p}.valueFrom`;
    let sources = 0;
    if (from.fieldRef) {
      sources++;
      errs.push(...validateObjectFieldSelector(from.fieldRef, `${fp}.fieldRef`, ENV_FIELD_PATHS));
    }
    if (from.resourceFieldRef) {
      sources++;
      const resource = from.resourceFieldRef.resource;
      if (!resource) errs.push(required(`${fp}.resourceFieldRef.resource`));
      else if (!includes(RESOURCE_FIELD_REFS, resource)) errs.push(notSupported(`${fp}.resourceFieldRef.resource`, resource, RESOURCE_FIELD_REFS));
    }
    for (const [key, ref] of [
      ["configMapKeyRef", from.configMapKeyRef],
      ["secretKeyRef", from.secretKeyRef],
    ] as const) {
      if (!ref) continue;
      sources++;
      for (const msg of isDNS1123Subdomain(str(ref.name ?? ""))) errs.push(invalid(`${fp}.${key}.name`, ref.name ?? "", msg));
      if (!ref.key) errs.push(required(`${fp}.${key}.key`));
      else for (const msg of configMapKeyErrors(str(ref.key))) errs.push(invalid(`${fp}.${key}.key`, ref.key, msg));
    }
    if (sources === 0) errs.push(invalid(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    else if (e.value) errs.push(invalid(fp, "", "may not be specified when `value` is not empty"));
    else if (sources > 1) errs.push(invalid(fp, "", "may not have more than one field specified at a time"));
  });
  return errs;
}

function validateObjectFieldSelector(sel: ObjectFieldSelector, path: string, allowed: readonly string[]): FieldError[] {
  if (!sel.apiVersion) return [required(`${path}.apiVersion`)];
  if (!sel.fieldPath) return [required(`${path}.fieldPath`)];
  const subscripted = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(sel.fieldPath);
  if (subscripted) {
    const key = subscripted[2] ?? "";
    return qualifiedNameErrors(path, subscripted[1] === "metadata.annotations" ? key.toLowerCase() : key);
  }
  return includes(allowed, sel.fieldPath) ? [] : [notSupported(`${path}.fieldPath`, sel.fieldPath, allowed)];
}

function validateEnvFrom(envFrom: Container["envFrom"], path: string): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(envFrom).forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(e)) return;
    if (e.prefix) for (const msg of envVarNameErrors(str(e.prefix))) errs.push(invalid(`${p}.prefix`, e.prefix, msg));
    let sources = 0;
    for (const [key, ref] of [
      ["configMapRef", e.configMapRef],
      ["secretRef", e.secretRef],
    ] as const) {
      if (!ref) continue;
      sources++;
      if (!ref.name) errs.push(required(`${p}.${key}.name`));
      else for (const msg of isDNS1123Subdomain(str(ref.name))) errs.push(invalid(`${p}.${key}.name`, ref.name, msg));
    }
    if (sources === 0) errs.push(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
    else if (sources > 1) errs.push(invalid(path, "", "may not have more than one field specified at a time"));
  });
  return errs;
}

function validateVolumeMounts(c: Container, path: string, volumeNames: ReadonlySet<string>): FieldError[] {
  const errs: FieldError[] = [];
  const mountPaths = new Set<string>();
  objectsOf(c.volumeMounts).forEach((m, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(m)) return;
    if (!m.name) errs.push(required(`${p}.name`));
    if (!volumeNames.has(m.name)) errs.push(notFound(`${p}.name`, m.name ?? ""));
    if (!m.mountPath) errs.push(required(`${p}.mountPath`));
    if (mountPaths.has(m.mountPath)) errs.push(invalid(`${p}.mountPath`, m.mountPath, "must be unique"));
    mountPaths.add(m.mountPath);
    if (m.subPath) errs.push(...localDescendingPathErrors(m.subPath, `${p}.subPath`));
    if (m.mountPropagation !== undefined && !includes(["Bidirectional", "HostToContainer", "None"], m.mountPropagation)) {
      errs.push(notSupported(`${p}.mountPropagation`, m.mountPropagation, ["Bidirectional", "HostToContainer", "None"]));
    }
  });
  return errs;
}

const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);

/** Requests and limits: standard resource names, valid non-negative quantities, requests within limits. */
function validateResources(res: ResourceRequirements | undefined, path: string): FieldError[] {
  if (!isObj(res)) return [];
  const errs: FieldError[] = [];
  const limits = isObj(res.limits) ? res.limits : {};
  const requests = isObj(res.requests) ? res.requests : {};
  const checkEntry = (field: string, name: string, q: unknown): Quantity | undefined => {
    if (!name.includes("/") && !STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith("hugepages-")) {
      errs.push(invalid(field, name, "must be a standard resource for containers"));
    }
    const bad = quantityError(q);
    if (bad !== undefined) {
      errs.push(invalid(field, typeof q === "number" ? str(q) : q, bad));
      return undefined;
    }
    const parsed = parseQuantity(q as string | number);
    if (parsed.nanos < 0n) errs.push(invalid(field, formatQuantity(parsed), "must be greater than or equal to 0"));
    return parsed;
  };
  const parsedLimits = new Map<string, Quantity>();
  for (const [name, q] of sortedEntries(limits)) {
    const parsed = checkEntry(`${path}.limits[${name}]`, name, q);
    if (parsed) parsedLimits.set(name, parsed);
  }
  for (const [name, q] of sortedEntries(requests)) {
    const request = checkEntry(`${path}.requests[${name}]`, name, q);
    const limit = parsedLimits.get(name);
    if (!request || !limit) continue;
    const cmp = compareQuantities(request, limit);
    // Huge pages cannot be overcommitted: request and limit must be equal.
    if (name.startsWith("hugepages-") && cmp !== 0) {
      errs.push(invalid(`${path}.requests`, formatQuantity(request), `must be equal to ${name} limit of ${formatQuantity(limit)}`));
    } else if (cmp > 0) {
      errs.push(invalid(`${path}.requests`, formatQuantity(request), `must be less than or equal to ${name} limit of ${formatQuantity(limit)}`));
    }
  }
  return errs;
}

/** A probe; liveness and startup probes must have successThreshold 1. */
function validateProbe(probe: Probe | undefined, path: string, mustSucceedOnce: boolean): FieldError[] {
  if (probe === undefined) return [];
  if (!isObj(probe)) return [required(path, "must specify a handler type")];
  const errs = validateHandler(probe, path);
  for (const key of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const) {
    const v = probe[key];
    if (typeof v === "number" && v < 0) errs.push(invalid(`${path}.${key}`, v, "must be greater than or equal to 0"));
  }
  if (typeof probe.terminationGracePeriodSeconds === "number" && probe.terminationGracePeriodSeconds <= 0) {
    errs.push(invalid(`${path}.terminationGracePeriodSeconds`, probe.terminationGracePeriodSeconds, "must be greater than 0"));
  }
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.push(invalid(`${path}.successThreshold`, probe.successThreshold, "must be 1"));
  }
  return errs;
}

/** Exactly one handler kind (exec, httpGet, tcpSocket, grpc, or sleep for lifecycle hooks). */
function validateHandler(handler: Probe | LifecycleHandler, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let count = 0;
  const h = handler as Probe & LifecycleHandler;
  const one = (key: string, check: () => FieldError[]): void => {
    if (count > 0) errs.push(forbidden(`${path}.${key}`, "may not specify more than 1 handler type"));
    else errs.push(...check());
    count++;
  };
  if (h.exec !== undefined) one("exec", () => (listOf(h.exec?.command).length === 0 ? [required(`${path}.exec.command`)] : []));
  if (h.httpGet !== undefined) one("httpGet", () => validateHTTPGet(h.httpGet, `${path}.httpGet`));
  if (h.tcpSocket !== undefined) one("tcpSocket", () => portNumOrNameErrors(h.tcpSocket?.port, `${path}.tcpSocket.port`));
  if (h.grpc !== undefined) {
    one("grpc", () => portNumErrors(numberOf(h.grpc?.port)).map((msg) => invalid(`${path}.grpc.port`, h.grpc?.port, msg)));
  }
  if (h.sleep !== undefined) {
    one("sleep", () => {
      const seconds = numberOf(h.sleep?.seconds);
      return seconds >= 0 ? [] : [invalid(`${path}.sleep.seconds`, h.sleep?.seconds, "must be greater than or equal to 0")];
    });
  }
  if (count === 0) errs.push(required(path, "must specify a handler type"));
  return errs;
}

function validateHTTPGet(action: HTTPGetAction | undefined, path: string): FieldError[] {
  if (!isObj(action)) return [required(path)];
  const errs: FieldError[] = [];
  if (!action.path) errs.push(required(`${path}.path`));
  errs.push(...portNumOrNameErrors(action.port, `${path}.port`));
  if (!includes(["HTTP", "HTTPS"], action.scheme)) errs.push(notSupported(`${path}.scheme`, action.scheme ?? "", ["HTTP", "HTTPS"]));
  return errs;
}

/** An IntOrString port: a number in range or an IANA service name. */
function portNumOrNameErrors(port: IntOrString | undefined, path: string): FieldError[] {
  if (typeof port === "string") return isIANASvcName(str(port)).map((msg) => invalid(path, port, msg));
  return portNumErrors(numberOf(port ?? 0)).map((msg) => invalid(path, port ?? 0, msg));
}

function validateVolumes(volumes: Volume[] | undefined, path: string, errs: FieldError[]): Set<string> {
  const names = new Set<string>();
  objectsOf(volumes).forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(v)) return;
    if (!v.name) errs.push(required(`${p}.name`));
    else for (const msg of isDNS1123Label(str(v.name))) errs.push(invalid(`${p}.name`, v.name, msg));
    if (v.name && names.has(v.name)) errs.push(duplicate(`${p}.name`, v.name));
    names.add(v.name);
    // Sources kubelab does not run (nfs, csi, ...) still count as a source; the kubelet reports them.
    const keys = Object.keys(v).filter((k) => k !== "name");
    if (keys.length === 0) {
      errs.push(required(p, "must specify a volume type"));
      return;
    }
    const ordered = [...new Set([...KNOWN_VOLUME_KEYS.filter((k) => keys.includes(k)), ...keys])];
    ordered.slice(1).forEach((k) => errs.push(forbidden(`${p}.${k}`, "may not specify more than 1 volume type")));
    errs.push(...validateVolumeSource(v, ordered[0] ?? "", `${p}.${ordered[0] ?? ""}`));
  });
  return names;
}

const KNOWN_VOLUME_KEYS = ["emptyDir", "hostPath", "secret", "persistentVolumeClaim", "downwardAPI", "configMap", "projected"];

function validateVolumeSource(v: Volume, key: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const mode = (field: string, value: number | undefined): void => {
    if (value !== undefined && (typeof value !== "number" || value < 0 || value > 0o777)) errs.push(invalid(field, value, FILE_MODE_ERROR));
  };
  const items = (list: KeyToPath[] | undefined, p: string): void => {
    objectsOf(list).forEach((kp, i) => {
      const ip = `${p}[${i}]`;
      if (!kp.key) errs.push(required(`${ip}.key`));
      if (!kp.path) errs.push(required(`${ip}.path`));
      errs.push(...localNonReservedPathErrors(kp.path ?? "", `${ip}.path`));
      mode(`${ip}.mode`, kp.mode);
    });
  };
  switch (key) {
    case "hostPath": {
      const hp = v.hostPath;
      if (!hp?.path) errs.push(required(`${path}.path`));
      if (hp?.type !== undefined && !includes(HOST_PATH_TYPES, hp.type)) errs.push(notSupported(`${path}.type`, hp.type, HOST_PATH_TYPES));
      break;
    }
    case "secret":
      if (!v.secret?.secretName) errs.push(required(`${path}.secretName`));
      mode(`${path}.defaultMode`, v.secret?.defaultMode);
      items(v.secret?.items, `${path}.items`);
      break;
    case "configMap":
      if (!v.configMap?.name) errs.push(required(`${path}.name`));
      mode(`${path}.defaultMode`, v.configMap?.defaultMode);
      items(v.configMap?.items, `${path}.items`);
      break;
    case "persistentVolumeClaim":
      if (!v.persistentVolumeClaim?.claimName) errs.push(required(`${path}.claimName`));
      break;
    case "downwardAPI":
      mode(`${path}.defaultMode`, v.downwardAPI?.defaultMode);
      objectsOf(v.downwardAPI?.items).forEach((item, i) => {
        const ip = `${path}.items[${i}]`;
        if (!item.path) errs.push(required(`${ip}.path`));
        errs.push(...localNonReservedPathErrors(item.path ?? "", `${ip}.path`));
        mode(`${ip}.mode`, item.mode);
        if (item.fieldRef && item.resourceFieldRef) errs.push(invalid(ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
        if (item.fieldRef) errs.push(...validateObjectFieldSelector(item.fieldRef, `${ip}.fieldRef`, VOLUME_FIELD_PATHS));
      });
      break;
    case "projected":
      mode(`${path}.defaultMode`, v.projected?.defaultMode);
      objectsOf(v.projected?.sources).forEach((source, i) => {
        const sp = `${path}.sources[${i}]`;
        if (source.secret) items(source.secret.items, `${sp}.secret.items`);
        if (source.configMap) items(source.configMap.items, `${sp}.configMap.items`);
        if (source.serviceAccountToken && !source.serviceAccountToken.path) errs.push(required(`${sp}.serviceAccountToken.path`));
      });
      break;
    default:
      break;
  }
  return errs;
}

function localDescendingPathErrors(value: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (value.startsWith("/")) errs.push(invalid(path, value, "must be a relative path"));
  if (value.split("/").includes("..")) errs.push(invalid(path, value, "must not contain '..'"));
  return errs;
}

function localNonReservedPathErrors(value: string, path: string): FieldError[] {
  const errs = localDescendingPathErrors(value, path);
  if (value.startsWith("..") && !value.startsWith("../")) errs.push(invalid(path, value, "must not start with '..'"));
  return errs;
}

function validateTolerations(tolerations: Toleration[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(tolerations).forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(t)) return;
    if (t.key) errs.push(...qualifiedNameErrors(`${p}.key`, t.key));
    if (!t.key && t.operator !== "Exists") {
      errs.push(invalid(`${p}.operator`, t.operator ?? "", 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      errs.push(invalid(`${p}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (t.operator) {
      case undefined:
      case "Equal": {
        const msgs = validateLabelValue(str(t.value ?? ""));
        if (msgs.length > 0) errs.push(invalid(`${p}.operator`, t.value ?? "", msgs.join(";")));
        break;
      }
      case "Exists":
        if (t.value) errs.push(invalid(`${p}.operator`, raw(goToleration(t)), "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(notSupported(`${p}.operator`, t.operator, ["Equal", "Exists"]));
    }
    if (t.effect && !includes(TAINT_EFFECTS, t.effect)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
  });
  return errs;
}

function goToleration(t: Toleration): string {
  const seconds = t.tolerationSeconds === undefined ? "(*int64)(nil)" : `(*int64)(${t.tolerationSeconds})`;
  return `core.Toleration{Key:${JSON.stringify(t.key ?? "")}, Operator:${JSON.stringify(t.operator ?? "")}, Value:${JSON.stringify(t.value ?? "")}, Effect:${JSON.stringify(t.effect ?? "")}, TolerationSeconds:${seconds}}`;
}

function validateAffinity(affinity: PodSpec["affinity"], path: string): FieldError[] {
  if (!isObj(affinity)) return [];
  const errs: FieldError[] = [];
  const na = affinity.nodeAffinity;
  if (isObj(na)) {
    const req = na.requiredDuringSchedulingIgnoredDuringExecution;
    const rp = `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`;
    if (req !== undefined) {
      const terms = objectsOf(req.nodeSelectorTerms);
      if (terms.length === 0) errs.push(required(`${rp}.nodeSelectorTerms`, "must have at least one node selector term"));
      terms.forEach((term, i) => {
        objectsOf(term.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(r, `${rp}.nodeSelectorTerms[${i}].matchExpressions[${j}]`)));
      });
    }
    objectsOf(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((pref, i) => {
      const pp = `${path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (!(pref.weight >= 1 && pref.weight <= 100)) errs.push(invalid(`${pp}.weight`, pref.weight, "must be in the range 1-100"));
      objectsOf(pref.preference?.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(r, `${pp}.preference.matchExpressions[${j}]`)));
    });
  }
  for (const key of ["podAffinity", "podAntiAffinity"] as const) {
    const pa = affinity[key];
    if (!isObj(pa)) continue;
    objectsOf(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((term, i) => {
      errs.push(...validatePodAffinityTerm(term, `${path}.${key}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`));
    });
    objectsOf(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((w, i) => {
      const wp = `${path}.${key}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (!(w.weight >= 1 && w.weight <= 100)) errs.push(invalid(`${wp}.weight`, w.weight, "must be in the range 1-100"));
      errs.push(...validatePodAffinityTerm(w.podAffinityTerm, `${wp}.podAffinityTerm`));
    });
  }
  return errs;
}

function validateNodeSelectorRequirement(r: NodeSelectorRequirement, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const values = listOf(r.values);
  switch (r.operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) errs.push(required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0) errs.push(forbidden(`${path}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case "Gt":
    case "Lt":
      if (values.length !== 1) errs.push(required(`${path}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(`${path}.operator`, r.operator, "not a valid selector operator"));
  }
  errs.push(...qualifiedNameErrors(`${path}.key`, str(r.key ?? "")));
  return errs;
}

function validatePodAffinityTerm(term: PodAffinityTerm | undefined, path: string): FieldError[] {
  if (!isObj(term)) return [required(path)];
  const errs = validateLabelSelector(term.labelSelector, `${path}.labelSelector`);
  errs.push(...validateLabelSelector(term.namespaceSelector, `${path}.namespaceSelector`));
  listOf(term.namespaces).forEach((ns) => {
    for (const msg of isDNS1123Label(str(ns))) errs.push(invalid(`${path}.namespace`, ns, msg));
  });
  if (!term.topologyKey) errs.push(required(`${path}.topologyKey`, "can not be empty"));
  else errs.push(...qualifiedNameErrors(`${path}.topologyKey`, term.topologyKey));
  return errs;
}

/**
 * A pod template of a workload: its labels and annotations, a pod spec whose restartPolicy is Always, and labels
 * the workload's selector matches (ValidatePodTemplateSpecForReplicaSet and friends).
 */
function validateWorkloadTemplate(
  template: PodTemplateSpec | undefined,
  selects: ((labels: Record<string, string> | undefined) => boolean) | undefined,
  path: string,
  kind: string,
): FieldError[] {
  if (!isObj(template)) return [required(path)];
  const errs: FieldError[] = [];
  const labels = template.metadata?.labels;
  if (selects && !selects(labels)) {
    errs.push(invalid(`${path}.metadata.labels`, raw(goStringMap(labels)), "`selector` does not match template `labels`"));
  }
  // Kubernetes reports template metadata errors at `template.labels`, without `metadata` (embedded ObjectMeta).
  errs.push(...validateLabels(labels, `${path}.labels`));
  errs.push(...validateAnnotations(template.metadata?.annotations, `${path}.annotations`));
  errs.push(...validatePodSpec(template.spec, `${path}.spec`));
  const restartPolicy = template.spec?.restartPolicy;
  if (restartPolicy && restartPolicy !== "Always") errs.push(notSupported(`${path}.spec.restartPolicy`, restartPolicy, ["Always"]));
  if (template.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(invalid(`${path}.spec.activeDeadlineSeconds`, template.spec.activeDeadlineSeconds, `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Pod update

const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/**
 * A pod's spec is immutable except for container images, activeDeadlineSeconds (set or lowered), tolerations
 * (additions), a negative grace period becoming 1, and scheduling gates being removed. Binding a pod (setting
 * nodeName once) is also allowed: kubelab's pods/binding subresource writes through this same path.
 */
function validatePodUpdate(next: Pod, prev: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const ns: Partial<PodSpec> = isObj(next.spec) ? next.spec : {};
  const ps: Partial<PodSpec> = isObj(prev.spec) ? prev.spec : {};
  if (ns.activeDeadlineSeconds !== undefined) {
    if (ns.activeDeadlineSeconds < 0 || ns.activeDeadlineSeconds > MAX_INT32) {
      return [invalid("spec.activeDeadlineSeconds", ns.activeDeadlineSeconds, `must be between 0 and ${MAX_INT32}, inclusive`)];
    }
    if (ps.activeDeadlineSeconds !== undefined && ps.activeDeadlineSeconds < ns.activeDeadlineSeconds) {
      return [invalid("spec.activeDeadlineSeconds", ns.activeDeadlineSeconds, "must be less than or equal to previous value")];
    }
  } else if (ps.activeDeadlineSeconds !== undefined) {
    errs.push(invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"));
  }
  // Only additions to tolerations; an existing one may change only its tolerationSeconds.
  for (const old of objectsOf(ps.tolerations)) {
    const kept = objectsOf(ns.tolerations).some((t) => deepEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t));
    if (!kept) {
      errs.push(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"));
      break;
    }
  }
  // Compare everything else: copy the mutable fields from the old spec and require the rest to be equal.
  const munged = structuredClone(ns);
  const copyImages = (to: readonly Container[] | undefined, from: readonly Container[] | undefined): void => {
    objectsOf(to).forEach((c, i) => {
      const old = objectsOf(from)[i];
      if (isObj(c) && isObj(old)) setOrDelete(c, "image", old.image);
    });
  };
  copyImages(munged.containers, ps.containers);
  copyImages(munged.initContainers, ps.initContainers);
  setOrDelete(munged, "activeDeadlineSeconds", ps.activeDeadlineSeconds);
  setOrDelete(munged, "tolerations", ps.tolerations);
  if (typeof ps.terminationGracePeriodSeconds === "number" && ps.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = ps.terminationGracePeriodSeconds;
  }
  if (objectsOf(munged.schedulingGates).every((g) => objectsOf(ps.schedulingGates).some((o) => deepEqual(o, g)))) {
    setOrDelete(munged, "schedulingGates", ps.schedulingGates);
  }
  if (!ps.nodeName && munged.nodeName) delete munged.nodeName;
  if (!deepEqual(munged, ps)) errs.push(forbidden("spec", POD_UPDATE_FORBIDDEN));
  return errs;
}

function setOrDelete<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) Reflect.deleteProperty(target, key);
  else target[key] = value;
}

// ---------------------------------------------------------------------------------------------------------------
// Service

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"] as const;
const KUBELET_PORT = 10250;

function validateService(svc: Service): FieldError[] {
  const spec: NonNullable<Service["spec"]> = isObj(svc.spec) ? svc.spec : {};
  const errs: FieldError[] = [];
  const ports = objectsOf(spec.ports);
  const headless = spec.clusterIP === "None";
  const type = spec.type;
  if (ports.length === 0 && !headless && type !== "ExternalName") errs.push(required("spec.ports"));
  switch (type) {
    case "LoadBalancer":
      ports.forEach((p, i) => {
        if (p.port === KUBELET_PORT) errs.push(invalid(`spec.ports[${i}]`, p.port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
      });
      if (headless) errs.push(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer services"));
      break;
    case "NodePort":
      if (headless) errs.push(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for NodePort services"));
      break;
    case "ExternalName": {
      if (spec.clusterIP || listOf(spec.clusterIPs).length > 0) errs.push(forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
      if (listOf(spec.ipFamilies).length > 0) errs.push(forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
      if (spec.ipFamilyPolicy !== undefined) errs.push(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
      const cname = (spec.externalName ?? "").replace(/\.$/, "");
      if (!cname) errs.push(required("spec.externalName"));
      else for (const msg of isDNS1123Subdomain(str(cname))) errs.push(invalid("spec.externalName", cname, msg));
      break;
    }
    case "ClusterIP":
    case undefined:
      break;
  }

  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (!isObj(p)) return;
    if (ports.length > 1 && !p.name) errs.push(required(`${pp}.name`));
    else if (p.name) {
      for (const msg of isDNS1123Label(str(p.name))) errs.push(invalid(`${pp}.name`, p.name, msg));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    for (const msg of portNumErrors(p.port)) errs.push(invalid(`${pp}.port`, p.port ?? 0, msg));
    if (!p.protocol) errs.push(required(`${pp}.protocol`));
    else if (!includes(PROTOCOLS, p.protocol)) errs.push(notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS));
    errs.push(...portNumOrNameErrors(p.targetPort, `${pp}.targetPort`));
    if (p.appProtocol !== undefined) errs.push(...qualifiedNameErrors(`${pp}.appProtocol`, p.appProtocol));
  });

  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (!spec.sessionAffinity) errs.push(required("spec.sessionAffinity"));
  else if (!includes(["ClientIP", "None"], spec.sessionAffinity)) errs.push(notSupported("spec.sessionAffinity", spec.sessionAffinity, ["ClientIP", "None"]));
  listOf(spec.externalIPs).forEach((ip, i) => errs.push(...ipErrors(`spec.externalIPs[${i}]`, str(ip))));
  if (!type) errs.push(required("spec.type"));
  else if (!includes(SERVICE_TYPES, type)) errs.push(notSupported("spec.type", type, SERVICE_TYPES));
  if (type === "ClusterIP") {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  const servicePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const key = `${p.protocol ?? ""}/${p.nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(key);
    }
    const key = `${p.protocol ?? ""}/${p.port}`;
    if (servicePorts.has(key)) {
      errs.push(duplicate(`spec.ports[${i}]`, raw(`core.ServicePort{Name:"", Protocol:${JSON.stringify(p.protocol ?? "")}, AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`)));
    }
    servicePorts.add(key);
  });

  const accessible = type === "NodePort" || type === "LoadBalancer" || (type === "ClusterIP" && listOf(spec.externalIPs).length > 0);
  if (!accessible) {
    if (spec.externalTrafficPolicy) errs.push(invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
  } else if (!spec.externalTrafficPolicy) {
    errs.push(required("spec.externalTrafficPolicy"));
  } else if (!includes(["Cluster", "Local"], spec.externalTrafficPolicy)) {
    errs.push(notSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, ["Cluster", "Local"]));
  }
  if (spec.internalTrafficPolicy === undefined) {
    if (type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer") errs.push(required("spec.internalTrafficPolicy"));
  } else if (!includes(["Cluster", "Local"], spec.internalTrafficPolicy)) {
    errs.push(notSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, ["Cluster", "Local"]));
  }
  if (type !== "ExternalName") errs.push(...validateClusterIPs(spec));
  return errs;
}

/** clusterIP and clusterIPs agree, each is an IP ("None" only first), and IP family fields are well-formed. */
function validateClusterIPs(spec: NonNullable<Service["spec"]>): FieldError[] {
  const errs: FieldError[] = [];
  const ips = listOf(spec.clusterIPs);
  if (spec.clusterIP) {
    if (ips.length === 0) errs.push(required("spec.clusterIPs"));
    else if (ips[0] !== spec.clusterIP) errs.push(invalid("spec.clusterIPs", raw(goStringSlice(ips)), "first value must match `clusterIP`"));
  } else if (ips.length > 0) {
    errs.push(invalid("spec.clusterIPs", raw(goStringSlice(ips)), "must be empty when `clusterIP` is not specified"));
  }
  const families = new Set<string>();
  listOf(spec.ipFamilies).forEach((f, i) => {
    if (!includes(["IPv4", "IPv6"], f)) errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ["IPv4", "IPv6"]));
    if (families.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    families.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && !includes(["PreferDualStack", "RequireDualStack", "SingleStack"], spec.ipFamilyPolicy)) {
    errs.push(notSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, ["PreferDualStack", "RequireDualStack", "SingleStack"]));
  }
  ips.forEach((ip, i) => {
    if (ip === "None") {
      if (i > 0) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, "may only be set to 'None' for the first value"));
      return;
    }
    errs.push(...ipErrors(`spec.clusterIPs[${i}]`, str(ip)));
  });
  return errs;
}

/**
 * A service's cluster IPs may not change once allocated, except through ExternalName. A write that leaves them
 * out keeps them (the registry carries them over), so only a different value is a change.
 */
function validateServiceUpdate(next: Service, prev: Service): FieldError[] {
  const ns = next.spec ?? {};
  const ps = prev.spec ?? {};
  if (ns.type === "ExternalName" || ps.type === "ExternalName") return [];
  const ipsOf = (spec: NonNullable<Service["spec"]>): string[] => {
    const ips = listOf(spec.clusterIPs);
    if (ips.length > 0) return [...ips];
    return spec.clusterIP ? [spec.clusterIP] : [];
  };
  const nextIPs = ipsOf(ns);
  const prevIPs = ipsOf(ps);
  if (nextIPs.length === 0 || prevIPs.length === 0) return [];
  if (nextIPs[0] === "None" && prevIPs[0] === "None") return [];
  const errs: FieldError[] = [];
  prevIPs.forEach((ip, i) => {
    if (i < nextIPs.length && nextIPs[i] !== ip) errs.push(invalid(`spec.clusterIPs[${i}]`, raw(goStringSlice(nextIPs)), "may not change once set"));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints and EndpointSlices

function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(ep.subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    if (!isObj(ss)) return;
    if (objectsOf(ss.addresses).length === 0 && objectsOf(ss.notReadyAddresses).length === 0) {
      errs.push(required(p, "must specify `addresses` or `notReadyAddresses`"));
    }
    for (const key of ["addresses", "notReadyAddresses"] as const) {
      objectsOf(ss[key]).forEach((addr, j) => {
        const ap = `${p}.${key}[${j}]`;
        errs.push(...ipErrors(`${ap}.ip`, str(addr.ip ?? "")));
        errs.push(...specialIPErrors(`${ap}.ip`, str(addr.ip ?? "")));
        if (addr.hostname) for (const msg of isDNS1123Label(str(addr.hostname))) errs.push(invalid(`${ap}.hostname`, addr.hostname, msg));
        if (addr.nodeName) for (const msg of isDNS1123Subdomain(str(addr.nodeName))) errs.push(invalid(`${ap}.nodeName`, addr.nodeName, msg));
      });
    }
    const ports = objectsOf(ss.ports);
    ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !port.name) errs.push(required(`${pp}.name`));
      else if (port.name) for (const msg of isDNS1123Label(str(port.name))) errs.push(invalid(`${pp}.name`, port.name, msg));
      for (const msg of portNumErrors(port.port)) errs.push(invalid(`${pp}.port`, port.port ?? 0, msg));
      if (!port.protocol) errs.push(required(`${pp}.protocol`));
      else if (!includes(PROTOCOLS, port.protocol)) errs.push(notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    });
  });
  return errs;
}

/** Endpoint IPs may not be unspecified, loopback or link-local (ValidateNonSpecialIP). */
function specialIPErrors(field: string, ip: string): FieldError[] {
  const family = isIP(ip);
  if (family === 0) return [];
  const lower = ip.toLowerCase();
  if (ip === "0.0.0.0" || lower === "::") return [invalid(field, ip, "may not be unspecified (0.0.0.0, ::)")];
  if ((family === 4 && ip.startsWith("127.")) || lower === "::1") return [invalid(field, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)")];
  if ((family === 4 && ip.startsWith("169.254.")) || /^fe[89ab]/.test(lower)) {
    return [invalid(field, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")];
  }
  if ((family === 4 && ip.startsWith("224.0.0.")) || lower.startsWith("ff02:")) {
    return [invalid(field, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")];
  }
  return [];
}

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"] as const;

function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const addressType = slice.addressType;
  if (!addressType) errs.push(required("addressType"));
  else if (!includes(ADDRESS_TYPES, addressType)) errs.push(notSupported("addressType", addressType, ADDRESS_TYPES));
  const endpoints = objectsOf(slice.endpoints);
  if (endpoints.length > 1000) errs.push(tooMany("endpoints", endpoints.length, 1000));
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    if (!isObj(ep)) return;
    const addresses = listOf(ep.addresses);
    if (addresses.length === 0) errs.push(required(`${p}.addresses`, "must contain at least 1 address"));
    else if (addresses.length > 100) errs.push(tooMany(`${p}.addresses`, addresses.length, 100));
    addresses.forEach((addr, j) => {
      const ap = `${p}.addresses[${j}]`;
      const a = str(addr);
      if (addressType === "IPv4" && isIP(a) !== 4) errs.push(invalid(ap, a, "must be a valid IPv4 address"));
      if (addressType === "IPv6" && isIP(a) !== 6) errs.push(invalid(ap, a, "must be a valid IPv6 address"));
      if (addressType === "FQDN") for (const msg of isDNS1123Subdomain(str(a))) errs.push(invalid(ap, a, msg));
    });
    if (ep.nodeName) for (const msg of isDNS1123Subdomain(str(ep.nodeName))) errs.push(invalid(`${p}.nodeName`, ep.nodeName, msg));
    if (ep.hostname) for (const msg of isDNS1123Label(str(ep.hostname))) errs.push(invalid(`${p}.hostname`, ep.hostname, msg));
  });
  const names = new Set<string>();
  objectsOf(slice.ports).forEach((port, i) => {
    const p = `ports[${i}]`;
    if (!isObj(port)) return;
    const name = port.name ?? "";
    if (name) for (const msg of isDNS1123Label(str(name))) errs.push(invalid(`${p}.name`, name, msg));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (!port.protocol) errs.push(required(`${p}.protocol`));
    else if (!includes(PROTOCOLS, port.protocol)) errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.port !== undefined) for (const msg of portNumErrors(port.port)) errs.push(invalid(`${p}.port`, port.port, msg));
    if (port.appProtocol !== undefined) errs.push(...qualifiedNameErrors(`${p}.appProtocol`, port.appProtocol));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Node and Namespace

function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(node.spec) ? node.spec : {};
  const cidrs = listOf(spec.podCIDRs);
  if (cidrs.length > 2) errs.push(tooMany("spec.podCIDRs", cidrs.length, 2));
  cidrs.forEach((cidr, i) => errs.push(...cidrErrors(`spec.podCIDRs[${i}]`, str(cidr))));
  if (spec.podCIDR && cidrs.length === 0) errs.push(...cidrErrors("spec.podCIDR", str(spec.podCIDR)));
  const seen = new Set<string>();
  objectsOf(spec.taints).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!isObj(t)) return;
    errs.push(...qualifiedNameErrors(`${p}.key`, str(t.key ?? "")));
    const valueMsgs = validateLabelValue(str(t.value ?? ""));
    if (valueMsgs.length > 0) errs.push(invalid(`${p}.value`, t.value ?? "", valueMsgs.join(";")));
    if (!t.effect) errs.push(required(`${p}.effect`));
    else if (!includes(TAINT_EFFECTS, t.effect)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const key = `${t.effect}\u0000${t.key}`;
    if (seen.has(key)) {
      const timeAdded = t.timeAdded ? `time.Date(${JSON.stringify(t.timeAdded)})` : "(*v1.Time)(nil)";
      const value = raw(`core.Taint{Key:${JSON.stringify(t.key ?? "")}, Value:${JSON.stringify(t.value ?? "")}, Effect:${JSON.stringify(t.effect ?? "")}, TimeAdded:${timeAdded}}`);
      errs.push({ ...duplicate(p, value), message: `${duplicate(p, value).message}: taints must be unique by key and effect pair` });
    }
    seen.add(key);
  });
  return errs;
}

function validateNodeUpdate(next: Node, prev: Node): FieldError[] {
  const errs: FieldError[] = [];
  const prevCIDRs = listOf(prev.spec?.podCIDRs);
  const nextCIDRs = listOf(next.spec?.podCIDRs);
  // The node IPAM controller may assign CIDRs once; after that they are fixed.
  if (prevCIDRs.length > 0 && !deepEqual(prevCIDRs, nextCIDRs)) {
    errs.push(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
  }
  const prevProvider = prev.spec?.providerID;
  if (prevProvider && prevProvider !== next.spec?.providerID) {
    errs.push(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

function validateNamespace(ns: Namespace): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of listOf(ns.spec?.finalizers)) {
    const name = str(f);
    errs.push(...qualifiedNameErrors("spec.finalizers", name));
    if (!name.includes("/") && !STANDARD_FINALIZERS.has(name)) {
      errs.push(invalid("spec.finalizers", name, "name is neither a standard finalizer name nor is it fully qualified"));
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Events

/**
 * Core events (legacyValidateEvent): the event's namespace matches its object's, and new-style events (with
 * eventTime) name their reporter, action and reason. `strict` adds the events.k8s.io/v1 rules.
 */
function validateCoreEvent(ev: CoreEvent, strict: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const meta = isObj(ev.metadata) ? ev.metadata : {};
  const namespace = meta.namespace ?? "";
  const involved = isObj(ev.involvedObject) ? ev.involvedObject : {};
  const involvedNamespace = involved.namespace ?? "";
  const reporter = strict ? "reportingController" : "reportingComponent";
  if (strict) errs.push(...validateObjectMeta(meta, true, (n) => isDNS1123Subdomain(str(n)), "metadata"));
  else if (!meta.name) errs.push(required("metadata.name", "name or generateName is required"));
  else for (const msg of pathSegmentErrors(str(meta.name))) errs.push(invalid("metadata.name", meta.name, msg));
  if (!ev.eventTime) {
    if (involvedNamespace === "" ? namespace !== "" && namespace !== "default" : namespace !== involvedNamespace) {
      errs.push(invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
    }
  } else {
    if (involvedNamespace === "" && namespace !== "default" && namespace !== "kube-system") {
      errs.push(invalid("involvedObject.namespace", involvedNamespace, "does not match event.namespace"));
    }
    const controller = ev.reportingComponent ?? "";
    if (!controller) errs.push(required(reporter));
    else errs.push(...qualifiedNameErrors(reporter, controller));
    if (!ev.reportingInstance) errs.push(required("reportingInstance"));
    else if (ev.reportingInstance.length > 128) errs.push(invalid("reportingInstance", "", "can have at most 128 characters"));
    if (!ev.action) errs.push(required("action"));
    else if (ev.action.length > 128) errs.push(invalid("action", "", "can have at most 128 characters"));
    if (!ev.reason) errs.push(required("reason"));
    else if (ev.reason.length > 128) errs.push(invalid("reason", "", "can have at most 128 characters"));
    if ((ev.message ?? "").length > 1024) errs.push(invalid("message", "", "can have at most 1024 characters"));
  }
  if (!strict) for (const msg of isDNS1123Subdomain(str(namespace))) errs.push(invalid("namespace", namespace, msg));
  if (strict) {
    if (!ev.eventTime) errs.push(required("eventTime"));
    if (ev.type !== "Normal" && ev.type !== "Warning") errs.push(invalid("type", "", `has invalid value: ${ev.type ?? ""}`));
    if (ev.firstTimestamp) errs.push(invalid("deprecatedFirstTimestamp", "", "needs to be unset"));
    if (ev.lastTimestamp) errs.push(invalid("deprecatedLastTimestamp", "", "needs to be unset"));
    if (ev.count) errs.push(invalid("deprecatedCount", "", "needs to be unset"));
    if (ev.source?.component || ev.source?.host) errs.push(invalid("deprecatedSource", "", "needs to be unset"));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// ConfigMap and Secret

const MAX_DATA_SIZE = 1024 * 1024;

function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs: FieldError[] = [];
  const data = isObj(cm.data) ? cm.data : {};
  const binary = isObj(cm.binaryData) ? cm.binaryData : {};
  let size = 0;
  for (const [key, value] of sortedEntries(data)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`data[${key}]`, key, msg));
    if (key in binary) errs.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
    size += Buffer.byteLength(str(value));
  }
  for (const [key, value] of sortedEntries(binary)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`binaryData[${key}]`, key, msg));
    if (key in data) errs.push(invalid(`binaryData[${key}]`, key, "duplicate of key present in data"));
    errs.push(...base64Errors(`binaryData[${key}]`, value));
    size += decodedLength(str(value));
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong("", MAX_DATA_SIZE));
  return errs;
}

/** Data keys each secret type requires (ValidateSecret). */
const SECRET_TYPE_KEYS: Record<string, { any?: string[]; all?: string[] }> = {
  "kubernetes.io/dockercfg": { all: [".dockercfg"] },
  "kubernetes.io/dockerconfigjson": { all: [".dockerconfigjson"] },
  "kubernetes.io/basic-auth": { any: ["username", "password"] },
  "kubernetes.io/ssh-auth": { all: ["ssh-privatekey"] },
  "kubernetes.io/tls": { all: ["tls.crt", "tls.key"] },
};

function validateSecret(secret: Secret): FieldError[] {
  const errs: FieldError[] = [];
  const data = isObj(secret.data) ? secret.data : {};
  let size = 0;
  for (const [key, value] of sortedEntries(data)) {
    for (const msg of configMapKeyErrors(str(key))) errs.push(invalid(`data[${key}]`, key, msg));
    errs.push(...base64Errors(`data[${key}]`, value));
    size += decodedLength(str(value));
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong("data", MAX_DATA_SIZE));
  const type = secret.type ?? "";
  if (type === "kubernetes.io/service-account-token") {
    const key = "kubernetes.io/service-account.name";
    if (!secret.metadata.annotations?.[key]) errs.push(required(`metadata.annotations[${key}]`));
  }
  const rule = SECRET_TYPE_KEYS[type];
  if (rule?.all) for (const key of rule.all) if (!(key in data)) errs.push(required(`data[${key}]`));
  if (rule?.any && !rule.any.some((key) => key in data)) for (const key of rule.any) errs.push(required(`data[${key}]`));
  return errs;
}

/** JSON []byte values are standard base64; Kubernetes rejects anything else while decoding the body. */
function base64Errors(field: string, value: unknown): FieldError[] {
  const s = str(value);
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  const padding = /=*$/.exec(s)?.[0].length ?? 0;
  const misplacedPad = s.slice(0, s.length - padding).indexOf("=");
  let at = -1;
  if (bad >= 0) at = bad;
  else if (misplacedPad >= 0) at = misplacedPad;
  else if (s.length % 4 !== 0 || padding > 2) at = s.length - (s.length % 4 || 4);
  return at < 0 ? [] : [invalid(field, s, `illegal base64 data at input byte ${at}`)];
}

function decodedLength(b64: string): number {
  const padding = /=*$/.exec(b64)?.[0].length ?? 0;
  return Math.max(0, Math.floor((b64.length * 3) / 4) - padding);
}

/** With `immutable: true`, data can no longer change and the flag can no longer be unset. */
function validateImmutableData<T extends ConfigMap | Secret>(next: T, prev: T, fields: readonly ("data" | "binaryData")[]): FieldError[] {
  if (prev.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (next.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of fields) {
    if (!deepEqual((next as Record<string, unknown>)[f], (prev as Record<string, unknown>)[f])) {
      errs.push(forbidden(f, "field is immutable when `immutable` is set"));
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

function validateReplicas(spec: { replicas?: number; minReadySeconds?: number }): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ["replicas", "minReadySeconds"] as const) {
    const v = spec[key];
    if (typeof v === "number" && v < 0) errs.push(invalid(`spec.${key}`, v, "must be greater than or equal to 0"));
  }
  return errs;
}

/** The apps/v1 selector: required, valid, non-empty; returns a matcher for the template check when usable. */
function validateAppsSelector(sel: LabelSelector | undefined, errs: FieldError[], kind: string): ((labels: Record<string, string> | undefined) => boolean) | undefined {
  if (sel === undefined || sel === null) {
    errs.push(required("spec.selector"));
    return undefined;
  }
  const selErrs = validateLabelSelector(sel, "spec.selector");
  errs.push(...selErrs);
  if (selectorIsEmpty(sel)) {
    errs.push(invalid("spec.selector", raw(goLabelSelector(sel)), `empty selector is invalid for ${kind}`));
    return undefined;
  }
  if (selErrs.length > 0) return undefined;
  try {
    const selector = selectorFromLabelSelector(sel);
    return (labels) => selector.matches(labels);
  } catch {
    errs.push(invalid("spec.selector", raw(goLabelSelector(sel)), "invalid label selector"));
    return undefined;
  }
}

function validateDeployment(d: Deployment): FieldError[] {
  const spec: NonNullable<Deployment["spec"]> = isObj(d.spec) ? d.spec : {};
  const errs = validateReplicas(spec);
  const selects = validateAppsSelector(spec.selector, errs, "deployment");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicaSet"));
  const strategy = isObj(spec.strategy) ? spec.strategy : {};
  switch (strategy.type) {
    case "Recreate":
      if (strategy.rollingUpdate !== undefined) errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
        break;
      }
      const p = "spec.strategy.rollingUpdate";
      errs.push(...intOrPercentErrors(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...intOrPercentErrors(ru.maxSurge, `${p}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(invalid(`${p}.maxUnavailable`, raw(goIntOrString(ru.maxUnavailable)), "may not be 0 when `maxSurge` is 0"));
      }
      errs.push(...notOver100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    case undefined:
    default:
      errs.push(notSupported("spec.strategy", raw(`apps.DeploymentStrategy{Type:${JSON.stringify(strategy.type ?? "")}}`), ["Recreate", "RollingUpdate"]));
  }
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  if (typeof spec.progressDeadlineSeconds === "number") {
    if (spec.progressDeadlineSeconds < 0) errs.push(invalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than or equal to 0"));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(invalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than minReadySeconds"));
    }
  }
  return errs;
}

function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const spec: NonNullable<ReplicaSet["spec"]> = isObj(rs.spec) ? rs.spec : {};
  const errs = validateReplicas(spec);
  // Kubernetes says "deployment" here too.
  const selects = validateAppsSelector(spec.selector, errs, "deployment");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicaSet"));
  return errs;
}

function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec: NonNullable<DaemonSet["spec"]> = isObj(ds.spec) ? ds.spec : {};
  const errs = validateReplicas(spec);
  const selects = validateAppsSelector(spec.selector, errs, "daemonset");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "DaemonSet"));
  const strategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  const p = "spec.updateStrategy";
  switch (strategy.type) {
    case "OnDelete":
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required(`${p}.rollingUpdate`));
        break;
      }
      errs.push(...intOrPercentErrors(ru.maxUnavailable, `${p}.rollingUpdate.maxUnavailable`));
      errs.push(...intOrPercentErrors(ru.maxSurge, `${p}.rollingUpdate.maxSurge`));
      errs.push(...notOver100Percent(ru.maxUnavailable, `${p}.rollingUpdate.maxUnavailable`));
      errs.push(...notOver100Percent(ru.maxSurge, `${p}.rollingUpdate.maxSurge`));
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) {
        errs.push(invalid(`${p}.rollingUpdate.maxSurge`, raw(goIntOrString(ru.maxSurge)), "may not be set when maxUnavailable is non-zero"));
      } else if (!hasUnavailable && !hasSurge) {
        errs.push(required(`${p}.rollingUpdate.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
      }
      break;
    }
    case undefined:
    default:
      errs.push(notSupported(`${p}.type`, strategy.type ?? "", ["OnDelete", "RollingUpdate"]));
  }
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  return errs;
}

function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const spec: NonNullable<StatefulSet["spec"]> = isObj(sts.spec) ? sts.spec : {};
  const errs = validateReplicas(spec);
  if (spec.podManagementPolicy === undefined) errs.push(required("spec.podManagementPolicy"));
  else if (!includes(["OrderedReady", "Parallel"], spec.podManagementPolicy)) {
    errs.push(invalid("spec.podManagementPolicy", spec.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const strategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  switch (strategy.type) {
    case "OnDelete":
      if (strategy.rollingUpdate !== undefined) errs.push(invalid("spec.updateStrategy.rollingUpdate", raw("apps.RollingUpdateStatefulSetStrategy{...}"), "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case "RollingUpdate": {
      const partition = strategy.rollingUpdate?.partition;
      if (typeof partition === "number" && partition < 0) {
        errs.push(invalid("spec.updateStrategy.rollingUpdate.partition", partition, "must be greater than or equal to 0"));
      }
      break;
    }
    case undefined:
    default:
      errs.push(invalid("spec.updateStrategy", strategy.type ?? "", "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const selects = validateAppsSelector(spec.selector, errs, "statefulset");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "StatefulSet"));
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  return errs;
}

const STATEFULSET_MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

function validateStatefulSetUpdate(next: StatefulSet, prev: StatefulSet): FieldError[] {
  const strip = (spec: unknown): Record<string, unknown> =>
    Object.fromEntries(Object.entries(isRecordValue(spec) ? spec : {}).filter(([key]) => !STATEFULSET_MUTABLE.includes(key)));
  if (deepEqual(strip(next.spec), strip(prev.spec))) return [];
  return [
    forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

function validateReplicationController(rc: ReplicationController): FieldError[] {
  const spec: NonNullable<ReplicationController["spec"]> = isObj(rc.spec) ? rc.spec : {};
  const errs: FieldError[] = [];
  if (typeof spec.minReadySeconds === "number" && spec.minReadySeconds < 0) {
    errs.push(invalid("spec.minReadySeconds", spec.minReadySeconds, "must be greater than or equal to 0"));
  }
  const selector = isObj(spec.selector) ? spec.selector : {};
  const empty = Object.keys(selector).length === 0;
  if (empty) errs.push(required("spec.selector"));
  else errs.push(...validateLabels(selector, "spec.selector"));
  if (typeof spec.replicas === "number" && spec.replicas < 0) errs.push(invalid("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
  const selects = empty
    ? undefined
    : (labels: Record<string, string> | undefined): boolean => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
  if (spec.template === undefined) errs.push(required("spec.template"));
  else errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicationController"));
  return errs;
}

/** maxSurge / maxUnavailable: a non-negative integer or a percentage string. */
function intOrPercentErrors(value: IntOrString | undefined, path: string): FieldError[] {
  if (value === undefined) return [];
  if (typeof value === "string") {
    return matchesWhole(PERCENT, value)
      ? []
      : [invalid(path, raw(goIntOrString(value)), regexError("a valid percent string must be a numeric string followed by an ending '%'", PERCENT, "1%", "93%"))];
  }
  if (typeof value === "number") return value < 0 ? [invalid(path, value, "must be greater than or equal to 0")] : [];
  return [invalid(path, value, "must be an integer or percentage (e.g '5%')")];
}

function intOrPercentValue(value: IntOrString | undefined): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && matchesWhole(PERCENT, value)) return Number(value.slice(0, -1));
  return 0;
}

function notOver100Percent(value: IntOrString | undefined, path: string): FieldError[] {
  if (typeof value !== "string" || !matchesWhole(PERCENT, value) || Number(value.slice(0, -1)) <= 100) return [];
  return [invalid(path, raw(goIntOrString(value)), "must not be greater than 100%")];
}

// ---------------------------------------------------------------------------------------------------------------
// Lease

function validateLease(lease: Lease): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(lease.spec) ? lease.spec : {};
  if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0) {
    errs.push(invalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0"));
  }
  if (typeof spec.leaseTransitions === "number" && spec.leaseTransitions < 0) {
    errs.push(invalid("spec.leaseTransitions", spec.leaseTransitions, "must be greater than or equal to 0"));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function specOf(obj: KubeObject): Record<string, unknown> {
  const spec = obj.spec;
  return isRecordValue(spec) ? spec : {};
}

/** Narrows a typed field of unvalidated input: present and a JSON object (not null, not an array). */
function isObj<T extends object>(value: T | null | undefined): value is T {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isRecordValue(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list of scalars; absent or non-array input counts as empty. */
function listOf<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [];
}

/**
 * A list of objects, where any element that is not an object reads as an empty one: indexes (and so the field
 * paths of errors) stay those of the client's list, and a missing name or image is reported as missing.
 */
function objectsOf<T extends object>(value: readonly T[] | undefined | null): readonly T[] {
  if (!Array.isArray(value)) return [];
  return (value as readonly unknown[]).map((v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as T);
}

/** A scalar of unvalidated input as a string (a client may send a number where a string belongs). */
function str(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return `${value}`;
  return value === undefined || value === null ? "" : JSON.stringify(value);
}

function numberOf(value: unknown): number {
  return typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
}

function sortedEntries<V>(map: Record<string, V> | undefined): [string, V][] {
  if (!isObj(map)) return [];
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Semantic equality as Kubernetes' apiequality.Semantic.DeepEqual sees it for JSON: absent, null, empty list and
 * empty map are all "unset".
 */
function deepEqual(a: unknown, b: unknown): boolean {
  const unset = (v: unknown): boolean =>
    v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isRecordValue(v) && Object.keys(v).length === 0);
  if (unset(a) && unset(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isRecordValue(a) && isRecordValue(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}
