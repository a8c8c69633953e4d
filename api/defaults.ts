// Defaulting: what Kubernetes' SetDefaults_* functions (k8s.io/kubernetes pkg/apis/*/v1/defaults.go) fill in on
// every decode, plus the create-time fields its REST strategies and admission plugins set. The registry calls
// applyDefaults on every create and update (before validation), and applyCreateDefaults once on create.
//
// Everything here is idempotent: applying it twice changes nothing, so update paths may re-default freely, and a
// Deployment's template and its ReplicaSet's copy of it default to the same thing (kubectl rollout history/undo compare them).
import { applyGroupDefaults } from "./group-defaults.js";
import { defaultCertificateSigningRequest, defaultRoleBinding } from "./defaults-access.js";
import { defaultLimitRange, defaultPersistentVolume, defaultPersistentVolumeClaim } from "./defaults-claims.js";
import type { KubeObject } from "./meta.js";
import { isQuantity, parseQuantity } from "./quantity.js";
import type { ResourceInfo } from "./resources.js";
import type {
  Container,
  DaemonSet,
  Deployment,
  EndpointSlice,
  Endpoints,
  HTTPGetAction,
  Lifecycle,
  Namespace,
  Node,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  ReplicaSet,
  ReplicationController,
  Secret,
  Service,
  StatefulSet,
  Toleration,
} from "./types/index.js";

/** 0644: the file mode of configMap, secret, downwardAPI and projected volume files. */
const DEFAULT_VOLUME_MODE = 420;

/**
 * Fills in the defaults Kubernetes applies to an object of `info`'s kind: the scheme's (applySchemeDefaults) and
 * the fields the REST layer fills on every write (applyRestDefaults). Mutates `obj`, which must be a private copy
 * the caller owns (never a cached object).
 */
export function applyDefaults(info: ResourceInfo, obj: KubeObject): void {
  applySchemeDefaults(info, obj);
  applyRestDefaults(info, obj);
}

/**
 * The fields a kind's REST layer fills after decoding rather than its scheme's defaulting: a Service's IP family
 * fields and clusterIPs. Kubernetes fills them after recording managedFields, so no manager owns them.
 */
export function applyRestDefaults(info: ResourceInfo, obj: KubeObject): void {
  if (info.group === "" && info.kind === "Service") serviceRestDefaults(obj);
}

/**
 * The defaults the scheme applies while decoding a request (SetDefaults_<Kind>): fields the writer's managedFields
 * entry owns, as in Kubernetes.
 */
export function applySchemeDefaults(info: ResourceInfo, obj: KubeObject): void {
  switch (`${info.group}/${info.kind}`) {
    case "/Pod":
      defaultPod(obj);
      break;
    case "/Service":
      defaultService(obj);
      break;
    case "/ReplicationController":
      defaultReplicationController(obj);
      break;
    case "/Namespace":
      defaultNamespace(obj);
      break;
    case "/Node":
      defaultNode(obj);
      break;
    case "/Secret":
      defaultSecret(obj);
      break;
    case "/Endpoints":
      defaultEndpoints(obj);
      break;
    case "apps/Deployment":
      defaultDeployment(obj);
      break;
    case "/PersistentVolume":
      defaultPersistentVolume(obj);
      break;
    case "/PersistentVolumeClaim":
      defaultPersistentVolumeClaim(obj);
      break;
    case "/LimitRange":
      defaultLimitRange(obj);
      break;
    case "/PodTemplate":
      defaultPodTemplate((obj as { template?: PodTemplateSpec }).template);
      break;
    case "rbac.authorization.k8s.io/RoleBinding":
    case "rbac.authorization.k8s.io/ClusterRoleBinding":
      defaultRoleBinding(obj);
      break;
    case "certificates.k8s.io/CertificateSigningRequest":
      defaultCertificateSigningRequest(obj);
      break;
    case "apps/ReplicaSet":
      defaultReplicaSet(obj);
      break;
    case "apps/DaemonSet":
      defaultDaemonSet(obj);
      break;
    case "apps/StatefulSet":
      defaultStatefulSet(obj);
      break;
    case "discovery.k8s.io/EndpointSlice":
      defaultEndpointSlice(obj as EndpointSlice);
      break;
    default:
      // ConfigMap, ServiceAccount, Event, Lease: Kubernetes defaults nothing on them.
      applyGroupDefaults(`${info.group}/${info.kind}`, obj, defaultPodSpec);
      break;
  }
}

/**
 * Fields Kubernetes sets only when an object is created (REST strategy PrepareForCreate and admission), never on
 * later writes, because clients and controllers may legitimately change them afterwards. Call after applyDefaults.
 */
export function applyCreateDefaults(info: ResourceInfo, obj: KubeObject): void {
  if (info.group === "" && info.kind === "Pod") podDefaultsOnCreate(obj);
  else if (info.group === "" && info.kind === "Namespace") namespaceDefaultsOnCreate(obj);
}

/**
 * A new pod starts Pending with its QoS class computed, whatever status the client sent (kubectl sends
 * `status: {}`); the pod strategy's PrepareForCreate.
 */
export function podDefaultsOnCreate(pod: Pod): void {
  pod.status = { phase: "Pending", qosClass: qosClassOf(pod) };
}

/**
 * A new namespace is Active and carries the `kubernetes` finalizer, which the namespace controller removes once
 * the namespace's content is gone. Not part of applyDefaults: it must stay removable over the namespace's life.
 */
export function namespaceDefaultsOnCreate(ns: Namespace): void {
  ns.status = { ...(isObject(ns.status) ? ns.status : {}), phase: "Active" };
  const spec = child(ns, "spec");
  if (!spec) return;
  const finalizers = listOf(spec.finalizers);
  if (!finalizers.includes("kubernetes")) spec.finalizers = [...finalizers, "kubernetes"];
}

/**
 * The DefaultTolerationSeconds admission plugin: unless the pod already tolerates them, it tolerates the
 * `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` NoExecute taints for the given seconds, so
 * the node lifecycle controller evicts its pods that long after a node stops reporting.
 */
export function defaultTolerations(pod: KubeObject, notReadySeconds: number, unreachableSeconds: number): void {
  const spec = (pod as Pod).spec;
  if (!spec) return;
  const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const wanted: [string, number][] = [
    ["node.kubernetes.io/not-ready", notReadySeconds],
    ["node.kubernetes.io/unreachable", unreachableSeconds],
  ];
  const added: Toleration[] = [];
  for (const [key, seconds] of wanted) {
    if (tolerations.some((t) => isObject(t) && toleratesNoExecute(t, key))) continue;
    added.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds });
  }
  if (added.length > 0) spec.tolerations = [...tolerations, ...added];
}

/** Whether toleration `t` already covers the NoExecute taint `key` (the plugin's test, so user values win). */
function toleratesNoExecute(t: Toleration, key: string): boolean {
  const effectMatches = t.effect === undefined || t.effect === "NoExecute";
  const keyMatches = t.key === key || ((t.key === undefined || t.key === "") && t.operator === "Exists");
  return effectMatches && keyMatches;
}

/**
 * The pod's QoS class (pkg/apis/core/helper/qos): Guaranteed when every container has cpu and memory limits equal
 * to its requests, BestEffort when no container requests or limits anything, else Burstable.
 */
export function qosClassOf(pod: Pod): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...listOf(pod.spec?.containers), ...listOf(pod.spec?.initContainers)];
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of containers) {
    if (!isObject(c)) continue;
    addPositive(requests, c.resources?.requests);
    const found = addPositive(limits, c.resources?.limits);
    if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed && [...requests].every(([name, v]) => limits.get(name) === v) && requests.size === limits.size) {
    return "Guaranteed";
  }
  return "Burstable";
}

/** Adds the positive cpu and memory quantities of `list` into `sums` (in nano-units); returns the names it added. */
function addPositive(sums: Map<string, bigint>, list: Record<string, string> | undefined): Set<string> {
  const found = new Set<string>();
  for (const [name, q] of Object.entries(isObject(list) ? list : {})) {
    if ((name !== "cpu" && name !== "memory") || !isQuantity(q)) continue;
    const nanos = parseQuantity(q).nanos;
    if (nanos <= 0n) continue;
    found.add(name);
    sums.set(name, (sums.get(name) ?? 0n) + nanos);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Pods and pod templates

function defaultPod(pod: Pod): void {
  const spec = pod.spec;
  if (!isObject(spec)) return;
  defaultPodSpec(spec);
  // Pod-only defaults (SetDefaults_Pod and admission); pod templates keep these unset, as in Kubernetes.
  for (const c of [...listOf(spec.containers), ...listOf(spec.initContainers)]) {
    if (!isObject(c)) continue;
    defaultRequestsFromLimits(c);
    // With the host's network a container port is a host port.
    if (spec.hostNetwork === true) {
      for (const p of listOf(c.ports)) if (isObject(p) && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
  spec.enableServiceLinks ??= true;
  // No default service account here: the ServiceAccount admission plugin names the namespace's `default` account
  // (and with the plugin off, Kubernetes leaves serviceAccountName empty).
}

/** The defaults every PodSpec gets, in a pod or in any workload's pod template. */
export function defaultPodSpec(spec: PodSpec): void {
  spec.dnsPolicy ||= "ClusterFirst";
  spec.restartPolicy ||= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ||= "default-scheduler";
  // serviceAccount is the deprecated alias of serviceAccountName; conversion keeps them equal.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const c of [...listOf(spec.containers), ...listOf(spec.initContainers)]) defaultContainer(c);
  for (const v of listOf(spec.volumes)) {
    if (!isObject(v)) continue;
    if (v.configMap) v.configMap.defaultMode ??= DEFAULT_VOLUME_MODE;
    if (v.secret) v.secret.defaultMode ??= DEFAULT_VOLUME_MODE;
    if (v.downwardAPI) v.downwardAPI.defaultMode ??= DEFAULT_VOLUME_MODE;
    if (v.projected) v.projected.defaultMode ??= DEFAULT_VOLUME_MODE;
    if (v.hostPath) v.hostPath.type ??= "";
    const sources = listOf(v.projected?.sources).filter((source) => isObject(source));
    for (const item of [...listOf(v.downwardAPI?.items), ...sources.flatMap((source) => listOf(source.downwardAPI?.items))]) {
      if (isObject(item) && isObject(item.fieldRef)) item.fieldRef.apiVersion ||= "v1";
    }
    for (const source of sources) {
      if (isObject(source.serviceAccountToken)) source.serviceAccountToken.expirationSeconds ??= 3600;
    }
    // A volume with no source is an emptyDir (SetDefaults_Volume).
    const hasSource = Object.keys(v).some((k) => k !== "name");
    if (!hasSource) v.emptyDir = {};
  }
}

function defaultPodTemplate(template: PodTemplateSpec | undefined): void {
  if (isObject(template) && isObject(template.spec)) defaultPodSpec(template.spec);
}

function defaultContainer(c: Container): void {
  if (!isObject(c)) return;
  c.imagePullPolicy ||= pullPolicyFor(c.image ?? "");
  c.terminationMessagePath ||= "/dev/termination-log";
  c.terminationMessagePolicy ||= "File";
  // Go serializes the non-pointer ResourceRequirements struct as `resources: {}` even when empty.
  c.resources ??= {};
  for (const p of listOf(c.ports)) {
    if (!isObject(p)) continue;
    p.protocol ||= "TCP";
  }
  for (const e of listOf(c.env)) {
    if (isObject(e) && isObject(e.valueFrom?.fieldRef)) e.valueFrom.fieldRef.apiVersion ||= "v1";
  }
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) defaultProbe(probe);
  defaultLifecycle(c.lifecycle);
}

/**
 * The image pull policy Kubernetes picks when none is given: Always for `:latest` or an untagged image (which means
 * latest), IfNotPresent for any other tag or a digest reference.
 */
export function pullPolicyFor(image: string): "Always" | "IfNotPresent" {
  const at = image.indexOf("@");
  const named = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = named.lastIndexOf("/");
  const colon = named.indexOf(":", lastSlash + 1);
  const tag = colon >= 0 ? named.slice(colon + 1) : "";
  if (tag === "") return at >= 0 ? "IfNotPresent" : "Always";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(probe: Probe | undefined): void {
  if (!isObject(probe)) return;
  probe.timeoutSeconds ||= 1;
  probe.periodSeconds ||= 10;
  probe.successThreshold ||= 1;
  probe.failureThreshold ||= 3;
  defaultHTTPGet(probe.httpGet);
}

function defaultLifecycle(lifecycle: Lifecycle | undefined): void {
  if (!isObject(lifecycle)) return;
  defaultHTTPGet(lifecycle.postStart?.httpGet);
  defaultHTTPGet(lifecycle.preStop?.httpGet);
}

function defaultHTTPGet(action: HTTPGetAction | undefined): void {
  if (!isObject(action)) return;
  action.path ||= "/";
  action.scheme ||= "HTTP";
}

/** On pods (not templates) a resource with a limit and no request requests its limit. */
function defaultRequestsFromLimits(c: Container): void {
  const limits = c.resources?.limits;
  if (!c.resources || !isObject(limits)) return;
  const requests = child(c.resources, "requests");
  if (!requests) return;
  for (const [name, q] of Object.entries(limits)) {
    if (!(name in requests)) requests[name] = q;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

function defaultReplicationController(rc: ReplicationController): void {
  const spec = child(rc, "spec");
  if (!spec) return;
  const templateLabels = spec.template?.metadata?.labels;
  // An RC without a selector selects its template's labels, and is labelled with them (SetDefaults_ReplicationController).
  if (isObject(templateLabels)) {
    if (!isObject(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...templateLabels };
    if (!isObject(rc.metadata.labels) || Object.keys(rc.metadata.labels).length === 0) rc.metadata.labels = { ...templateLabels };
  }
  spec.replicas ??= 1;
  defaultPodTemplate(spec.template);
}

function defaultDeployment(d: Deployment): void {
  const spec = child(d, "spec");
  if (!spec) return;
  spec.replicas ??= 1;
  const strategy = child(spec, "strategy");
  if (strategy) {
    strategy.type ||= "RollingUpdate";
    const ru = strategy.type === "RollingUpdate" ? child(strategy, "rollingUpdate") : undefined;
    if (ru) {
      ru.maxUnavailable ??= "25%";
      ru.maxSurge ??= "25%";
    }
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(spec.template);
}

function defaultReplicaSet(rs: ReplicaSet): void {
  const spec = child(rs, "spec");
  if (!spec) return;
  spec.replicas ??= 1;
  defaultPodTemplate(spec.template);
}

function defaultDaemonSet(ds: DaemonSet): void {
  const spec = child(ds, "spec");
  if (!spec) return;
  const strategy = child(spec, "updateStrategy");
  if (strategy) {
    strategy.type ||= "RollingUpdate";
    const ru = strategy.type === "RollingUpdate" ? child(strategy, "rollingUpdate") : undefined;
    if (ru) {
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
    }
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
}

function defaultStatefulSet(sts: StatefulSet): void {
  const spec = child(sts, "spec");
  if (!spec) return;
  spec.podManagementPolicy ||= "OrderedReady";
  const strategy = child(spec, "updateStrategy");
  if (strategy) {
    // Only a defaulted type brings a defaulted rollingUpdate with it; an explicit RollingUpdate keeps what it has.
    if (!strategy.type) {
      strategy.type = "RollingUpdate";
      strategy.rollingUpdate ??= {};
    }
    if (strategy.type === "RollingUpdate" && isObject(strategy.rollingUpdate)) strategy.rollingUpdate.partition ??= 0;
  }
  const retention = child(spec, "persistentVolumeClaimRetentionPolicy");
  if (retention) {
    retention.whenDeleted ||= "Retain";
    retention.whenScaled ||= "Retain";
  }
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
}

// ---------------------------------------------------------------------------------------------------------------
// Other kinds

/** Service defaults (SetDefaults_Service). The cluster IP and node ports themselves are allocated by the registry. */
function defaultService(svc: Service): void {
  const spec = child(svc, "spec");
  if (!spec) return;
  spec.sessionAffinity ||= "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  spec.type ||= "ClusterIP";
  for (const p of listOf(spec.ports)) {
    if (!isObject(p)) continue;
    p.protocol ||= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  const type = spec.type;
  if (externallyAccessible(svc) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
  if ((type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer") && !spec.internalTrafficPolicy) {
    spec.internalTrafficPolicy = "Cluster";
  }
  if (type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
}

/** The IP family fields and clusterIPs the service REST layer fills (kubelab clusters are IPv4 single-stack). */
function serviceRestDefaults(svc: Service): void {
  const spec = child(svc, "spec");
  if (!spec) return;
  if (spec.type !== "ExternalName") {
    // kubelab clusters are IPv4 single-stack.
    spec.ipFamilyPolicy ??= "SingleStack";
    if (!spec.ipFamilies || spec.ipFamilies.length === 0) spec.ipFamilies = ["IPv4"];
  }
  // clusterIP and clusterIPs are two views of one value; fill whichever the client left out.
  if (spec.clusterIP && (!spec.clusterIPs || spec.clusterIPs.length === 0)) spec.clusterIPs = [spec.clusterIP];
  else if (!spec.clusterIP && spec.clusterIPs?.[0]) spec.clusterIP = spec.clusterIPs[0];
}

/** Whether traffic from outside the cluster reaches the service (NodePort, LoadBalancer, or external IPs). */
export function externallyAccessible(svc: Service): boolean {
  const type = svc.spec?.type;
  return type === "NodePort" || type === "LoadBalancer" || (type === "ClusterIP" && listOf(svc.spec?.externalIPs).length > 0);
}

function defaultNamespace(ns: Namespace): void {
  const name = ns.metadata.name;
  // Every namespace carries its own name as a label, so namespace selectors can pick it (SetDefaults_Namespace).
  if (name) ns.metadata.labels = { ...ns.metadata.labels, "kubernetes.io/metadata.name": name };
  if (isObject(ns.status) && !ns.status.phase) ns.status.phase = "Active";
}

function defaultNode(node: Node): void {
  // SetDefaults_NodeStatus: allocatable defaults to capacity.
  const status = node.status;
  if (isObject(status) && status.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
}

function defaultSecret(secret: Secret): void {
  secret.type ||= "Opaque";
  // stringData is write-only: Kubernetes' conversion merges it into data (base64) and never stores it.
  if (isObject(secret.stringData)) {
    const data: Record<string, string> = isObject(secret.data) ? secret.data : {};
    for (const [key, value] of Object.entries(secret.stringData)) data[key] = Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8").toString("base64");
    secret.data = data;
  }
  delete secret.stringData;
}

function defaultEndpoints(ep: Endpoints): void {
  for (const subset of listOf(ep.subsets)) {
    if (!isObject(subset)) continue;
    for (const p of listOf(subset.ports)) {
      if (isObject(p)) p.protocol ||= "TCP";
    }
  }
}

function defaultEndpointSlice(slice: EndpointSlice): void {
  for (const p of listOf(slice.ports)) {
    if (!isObject(p)) continue;
    p.name ??= "";
    p.protocol ||= "TCP";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** An array field as an array: absent or malformed input (unvalidated client JSON) counts as empty. */
function listOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [];
}

/**
 * The object at `obj[key]`, created empty when absent. Undefined when the client sent something other than an
 * object there: defaulting leaves malformed input for validation to report.
 */
function child<T extends object, K extends keyof T>(obj: T, key: K): NonNullable<T[K]> | undefined {
  const value = obj[key];
  if (value === undefined || value === null) {
    const created = {} as NonNullable<T[K]>;
    obj[key] = created;
    return created;
  }
  return isObject(value) ? value : undefined;
}

function isObject<T>(value: T | undefined): value is T & object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
