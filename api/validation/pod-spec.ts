// Pod specs, in pods and in workload templates: containers, volumes, probes, resources, tolerations, affinity.
import type { FieldError } from "../errors.js";
import { isDNS1123Label, isDNS1123Subdomain, isIANASvcName, validateLabelValue } from "../labels.js";
import { compareQuantities, formatQuantity, parseQuantity, quantityError, type Quantity } from "../quantity.js";
import type { Container, EnvVar, HTTPGetAction, IntOrString, KeyToPath, LifecycleHandler, NodeSelectorRequirement, ObjectFieldSelector, PodAffinityTerm, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Toleration, Volume } from "../types/index.js";
import { duplicate, forbidden, goStringMap, invalid, notFound, notSupported, raw, required } from "./field-errors.js";
import { includes, isObj, listOf, numberOf, objectsOf, sortedEntries, str } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { configMapKeyErrors, envVarNameErrors, portNumErrors, qualifiedNameErrors } from "./names.js";
import { validateAnnotations, validateLabels } from "./object-meta.js";

export const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
const RESTART_POLICIES = ["Always", "OnFailure", "Never"] as const;
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] as const;
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"] as const;
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
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
export const MAX_INT32 = 2147483647;

/** A pod spec, in a pod (`spec`) or a template (`spec.template.spec`). */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
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
  if (isObj(s.securityContext)) errs.push(...validateSysctls(s.securityContext.sysctls, `${path}.securityContext.sysctls`));
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

/** A sysctl name: dot- or slash-separated segments of lower-case alphanumerics, `-` and `_` (Kubernetes' format). */
const SYSCTL_NAME = /^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/;
const SYSCTL_MAX_LENGTH = 253;
/** The format as Kubernetes' message prints it (Go's regexp syntax). */
const SYSCTL_NAME_MESSAGE = `must have at most ${SYSCTL_MAX_LENGTH} characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`;

/**
 * A pod's `securityContext.sysctls`: each name present, of the sysctl format and at most 253 characters, and not
 * repeated (Kubernetes' validateSysctls). Whether a sysctl is safe or allowed is the kubelet's to decide, not the API's.
 */
export function validateSysctls(sysctls: PodSecurityContext["sysctls"], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  objectsOf(sysctls).forEach((sysctl, i) => {
    const name = str(sysctl.name ?? "");
    const p = `${path}[${i}].name`;
    if (name === "") errs.push(required(p));
    else if (name.length > SYSCTL_MAX_LENGTH || !SYSCTL_NAME.test(name)) errs.push(invalid(p, name, SYSCTL_NAME_MESSAGE));
    else if (seen.has(name)) errs.push(duplicate(p, name));
    seen.add(name);
  });
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
export function portNumOrNameErrors(port: IntOrString | undefined, path: string): FieldError[] {
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
export function validateWorkloadTemplate(
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
