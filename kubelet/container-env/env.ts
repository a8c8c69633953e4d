// The environment Kubernetes gives a container (kubelet makeEnvironmentVariables): the service variables, then
// envFrom, then env with $(VAR) expansion and valueFrom. Each name appears once, at the place of the definition
// that wins (env over envFrom over service variables), so the list is deterministic where Kubernetes' is in map
// order. HOSTNAME is not here: the runtime sets it from the sandbox's hostname.
import type * as cri from "../../client/cri/types.js";
import type { ConfigMap, Container, Pod, ResourceList, Secret, Service } from "../../api/types/index.js";
import { envVarNameErrors } from "../../api/validation/names.js";
import { containerResourceValue, DownwardAPIError, machineAllocatable, podFieldValue } from "./downward-api.js";
import { expand, lookupIn } from "./expansion.js";

export interface EnvSources {
  /** The Services of the pod's namespace, plus `kubernetes` of `default` (the master service). */
  services(namespace: string): readonly Readonly<Service>[];
  getConfigMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined>;
  getSecret(namespace: string, name: string): Promise<Readonly<Secret> | undefined>;
  nodeName: string;
  nodeIP: string;
  /** All the node's IPs (status.hostIPs); default [nodeIP]. */
  nodeIPs?: readonly string[];
  /** The node's allocatable: the limits a resourceFieldRef reads when the container sets none; default the machine's. */
  nodeAllocatable?: Readonly<ResourceList>;
  /** A warning worth an event on the pod (reason InvalidEnvironmentVariableNames), e.g. skipped envFrom keys. */
  recordWarning?(reason: string, message: string): void;
}

/** A reference that cannot be resolved (missing ConfigMap/Secret/key not marked optional): CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

/** The Service names whose variables every pod gets, from `default`, even with enableServiceLinks false. */
const MASTER_SERVICES = new Set(["kubernetes"]);

/** The container's environment in Kubernetes' order; podIPs are the sandbox's. Throws ContainerConfigError. */
export async function makeEnvironment(
  pod: Readonly<Pod>,
  container: Readonly<Container>,
  podIPs: readonly string[],
  sources: EnvSources,
): Promise<cri.KeyValue[]> {
  const namespace = pod.metadata.namespace ?? "default";
  const serviceEnv = serviceEnvironment(sources.services(namespace), namespace, pod.spec?.enableServiceLinks ?? true);
  const env = new Map<string, string>();
  const define = (name: string, value: string): void => {
    env.delete(name);
    env.set(name, value);
  };
  for (const [name, value] of serviceEnv) define(name, value);

  const configMaps = new Map<string, Readonly<ConfigMap> | undefined>();
  const secrets = new Map<string, Readonly<Secret> | undefined>();
  const configMap = async (name: string): Promise<Readonly<ConfigMap> | undefined> => {
    if (!configMaps.has(name)) configMaps.set(name, await fetchSource(() => sources.getConfigMap(namespace, name), "configmap", name));
    return configMaps.get(name);
  };
  const secret = async (name: string): Promise<Readonly<Secret> | undefined> => {
    if (!secrets.has(name)) secrets.set(name, await fetchSource(() => sources.getSecret(namespace, name), "secret", name));
    return secrets.get(name);
  };
  const missing = (kind: string, name: string): ContainerConfigError => new ContainerConfigError(`${kind} "${name}" not found`);

  // The variables defined by the container itself (envFrom, then env as far as processed): what $(VAR) sees first.
  const own = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    let entries: [string, string][];
    let what: string;
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? "";
      const cm = await configMap(name);
      if (!cm) {
        if (from.configMapRef.optional === true) continue;
        throw missing("configmap", name);
      }
      entries = Object.entries(cm.data ?? {});
      what = `configMap ${namespace}/${name}`;
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? "";
      const s = await secret(name);
      if (!s) {
        if (from.secretRef.optional === true) continue;
        throw missing("secret", name);
      }
      entries = Object.entries(s.data ?? {}).map(([k, v]) => [k, decodeBase64(v)]);
      what = `secret ${namespace}/${name}`;
    } else {
      continue;
    }
    const invalid: string[] = [];
    for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const name = prefix + key;
      if (envVarNameErrors(name).length > 0) {
        invalid.push(name);
        continue;
      }
      own.set(name, value);
      define(name, value);
    }
    if (invalid.length > 0) {
      sources.recordWarning?.(
        "InvalidEnvironmentVariableNames",
        `Keys [${invalid.sort().join(", ")}] from the EnvFrom ${what} were skipped since they are considered invalid environment variable names.`,
      );
    }
  }

  const lookup = lookupIn(own, serviceEnv);
  const downward = { podIPs, hostIPs: sources.nodeIPs ?? (sources.nodeIP ? [sources.nodeIP] : []) };
  for (const e of container.env ?? []) {
    let value = e.value ?? "";
    if (value !== "") {
      value = expand(value, lookup);
    } else if (e.valueFrom) {
      const from = e.valueFrom;
      try {
        if (from.fieldRef) {
          value = podFieldValue(pod, from.fieldRef.fieldPath, downward);
        } else if (from.resourceFieldRef) {
          value = containerResourceValue(from.resourceFieldRef, pod, container, sources.nodeAllocatable ?? machineAllocatable());
        } else if (from.configMapKeyRef) {
          const ref = from.configMapKeyRef;
          const name = ref.name ?? "";
          const cm = await configMap(name);
          if (!cm) {
            if (ref.optional === true) continue;
            throw missing("configmap", name);
          }
          const found = cm.data?.[ref.key];
          if (found === undefined) {
            if (ref.optional === true) continue;
            throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${name}`);
          }
          value = found;
        } else if (from.secretKeyRef) {
          const ref = from.secretKeyRef;
          const name = ref.name ?? "";
          const s = await secret(name);
          if (!s) {
            if (ref.optional === true) continue;
            throw missing("secret", name);
          }
          const found = s.data?.[ref.key];
          if (found === undefined) {
            if (ref.optional === true) continue;
            throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${name}`);
          }
          value = decodeBase64(found);
        }
      } catch (err) {
        if (err instanceof DownwardAPIError) throw new ContainerConfigError(err.message);
        throw err;
      }
    }
    own.set(e.name, value);
    define(e.name, value);
  }
  return [...env].map(([key, value]) => ({ key, value }));
}

/** Reads a ConfigMap/Secret; an error other than "not found" still stops the container, with its message. */
async function fetchSource<T>(get: () => Promise<T | undefined>, kind: string, name: string): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    throw new ContainerConfigError(`couldn't get ${kind} ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function decodeBase64(value: string): string {
  return Buffer.from(value, "base64").toString("utf8");
}

/**
 * The Docker-link style variables of the Services a pod in `namespace` sees (kubelet getServiceEnvVarMap and
 * envvars.FromServices): the master service from `default` always, the namespace's own Services when
 * enableServiceLinks is on; a Service without a ClusterIP (headless, ExternalName) gives none. Ordered by
 * Service name.
 */
export function serviceEnvironment(services: readonly Readonly<Service>[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const byName = new Map<string, Readonly<Service>>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP ?? "";
    if (ip === "" || ip === "None") continue;
    const name = svc.metadata.name ?? "";
    const ns = svc.metadata.namespace ?? "default";
    // The namespace's own Service of a master name wins over the master one.
    if (ns === namespace && enableServiceLinks) byName.set(name, svc);
    else if (ns === "default" && MASTER_SERVICES.has(name) && !byName.has(name)) byName.set(name, svc);
  }
  const env = new Map<string, string>();
  for (const name of [...byName.keys()].sort()) {
    const svc = byName.get(name);
    if (svc) for (const [k, v] of serviceVariables(svc)) env.set(k, v);
  }
  return env;
}

function serviceVariables(svc: Readonly<Service>): [string, string][] {
  const prefix = envVariableName(svc.metadata.name ?? "");
  const ip = svc.spec?.clusterIP ?? "";
  const ports = svc.spec?.ports ?? [];
  const out: [string, string][] = [[`${prefix}_SERVICE_HOST`, ip]];
  const first = ports[0];
  if (first) out.push([`${prefix}_SERVICE_PORT`, String(first.port)]);
  for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envVariableName(p.name)}`, String(p.port)]);
  const host = ip.includes(":") ? `[${ip}]` : ip;
  ports.forEach((p, i) => {
    const proto = (p.protocol ?? "TCP").toLowerCase();
    const url = `${proto}://${host}:${p.port}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([portPrefix, url], [`${portPrefix}_PROTO`, proto], [`${portPrefix}_PORT`, String(p.port)], [`${portPrefix}_ADDR`, ip]);
  });
  return out;
}

function envVariableName(name: string): string {
  return name.replaceAll("-", "_").toUpperCase();
}

/** The container's command and args with $(VAR) replaced from its environment (ExpandContainerCommandAndArgs). */
export function expandContainerCommand(
  container: Readonly<Container>,
  env: readonly cri.KeyValue[],
): { command: string[]; args: string[] } {
  const lookup = lookupIn(new Map(env.map((kv) => [kv.key, kv.value])));
  return {
    command: (container.command ?? []).map((s) => expand(s, lookup)),
    args: (container.args ?? []).map((s) => expand(s, lookup)),
  };
}
