// The ServiceAccount admission plugin: every pod runs as a ServiceAccount of its namespace ("default" unless it
// names one), which must exist, and unless the pod or the account opts out (automountServiceAccountToken: false)
// every container gets the API credentials as a projected volume — a bound token the kubelet refreshes, the
// cluster CA (the kube-root-ca.crt ConfigMap) and the namespace — at /var/run/secrets/kubernetes.io/serviceaccount.
// The `default` account is created by the controller-manager shortly after its namespace, so a pod that comes
// right after a new namespace is looked up again for a moment before it is refused, as Kubernetes does.
import { randomInt } from "node:crypto";
import { forbidden, isNotFound, StatusError } from "../../api/errors.js";
import type { Container, Pod, ServiceAccount, Volume, VolumeMount } from "../../api/types/index.js";
import type { AdmissionAttributes, AdmissionPlugin } from "./admission.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";
export const API_ACCESS_VOLUME_PREFIX = "kube-api-access-";
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The token's lifetime in the volume: an hour and a few seconds, so the apiserver can tell these tokens apart. */
export const PROJECTED_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export interface ServiceAccountPluginOptions {
  /** Lookups of the default account before it is declared missing (Kubernetes: 10). */
  defaultAttempts?: number;
  /** Pause between those lookups in ms (Kubernetes: 100-200 ms). */
  retryIntervalMs?: () => number;
  /** The 5-character suffix of the volume name (tests fix it). */
  suffix?: () => string;
}

export function serviceAccountPlugin(options: ServiceAccountPluginOptions = {}): AdmissionPlugin {
  const attempts = options.defaultAttempts ?? 10;
  const interval = options.retryIntervalMs ?? (() => 100 + randomInt(100));
  const suffix = options.suffix ?? randomVolumeSuffix;
  return {
    name: "ServiceAccount",
    enabledByDefault: true,
    async mutate(attributes: AdmissionAttributes): Promise<void> {
      if (attributes.info.group !== "" || attributes.info.resource !== "pods") return;
      const pod = attributes.object as Pod;
      const spec = pod.spec;
      if (!spec || typeof spec !== "object") return;
      // Mirror pods of static pods are the kubelet's; they may not use API credentials at all.
      if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
      spec.serviceAccountName = [spec.serviceAccountName, spec.serviceAccount].find((name) => name !== undefined && name !== "") ?? DEFAULT_SERVICE_ACCOUNT;
      spec.serviceAccount = spec.serviceAccountName;
      const namespace = attributes.namespace ?? "";
      const account = await lookUp(attributes, namespace, spec.serviceAccountName, spec.serviceAccountName === DEFAULT_SERVICE_ACCOUNT ? attempts : 1, interval);
      if (!account) {
        throw forbidden("pods", pod.metadata.name ?? "", `error looking up service account ${namespace}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`);
      }
      if (automounts(account, pod)) mountApiAccess(pod, suffix);
    },
  };
}

/** Five letters of NAME_ALPHABET, uniformly: one random draw read as five base-27 digits (one crypto call, not five). */
function randomVolumeSuffix(): string {
  let draw = randomInt(NAME_ALPHABET.length ** 5);
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += NAME_ALPHABET.charAt(draw % NAME_ALPHABET.length);
    draw = Math.floor(draw / NAME_ALPHABET.length);
  }
  return out;
}

async function lookUp(attributes: AdmissionAttributes, namespace: string, name: string, attempts: number, interval: () => number): Promise<ServiceAccount | undefined> {
  const accounts = attributes.storeFor("", "v1", "serviceaccounts");
  if (!accounts) throw new StatusError(500, "InternalError", "serviceaccounts are not served");
  // The watch cache first, as Kubernetes reads its informer: by key, not a scan of every account with a field
  // selector (every pod create asks). A miss (not there yet, or the cache still starting) is looked up in etcd.
  const cached = accounts.cache.get(accounts.keyFor(namespace, name));
  if (cached) return cached;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, interval()));
    try {
      return await accounts.get(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return undefined;
}

/** The pod's own automountServiceAccountToken decides; without one, the account's; without either, yes. */
function automounts(account: ServiceAccount, pod: Pod): boolean {
  const own = pod.spec?.automountServiceAccountToken;
  if (own !== undefined) return own;
  return account.automountServiceAccountToken !== false;
}

/**
 * Mounts the API-access volume read-only in every container and init container that mounts nothing at the
 * service-account path yet; a pod that already carries a kube-api-access-* volume (a re-created spec) keeps it.
 */
export function mountApiAccess(pod: Pod, suffix: () => string): void {
  const spec = pod.spec;
  if (!spec) return;
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith(API_ACCESS_VOLUME_PREFIX));
  const volumeName = existing?.name ?? API_ACCESS_VOLUME_PREFIX + suffix();
  const mount: VolumeMount = { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
  let needed = false;
  needed = mountIn(spec.initContainers ?? [], mount) || needed;
  needed = mountIn(spec.containers ?? [], mount) || needed;
  if (needed && !existing) spec.volumes = [...(spec.volumes ?? []), apiAccessVolume(volumeName)];
}

/** Adds a copy of `mount` to each container that mounts nothing at its path yet (new arrays); true when one needed it. */
function mountIn(containers: Container[], mount: VolumeMount): boolean {
  let added = false;
  for (const container of containers) {
    const mounts = container.volumeMounts ?? [];
    if (mountsAt(mounts, mount.mountPath)) continue;
    container.volumeMounts = [...mounts, { ...mount }];
    added = true;
  }
  return added;
}

function mountsAt(mounts: readonly VolumeMount[], path: string): boolean {
  for (const m of mounts) if (m.mountPath === path) return true;
  return false;
}

/** The projected volume: token, CA bundle, namespace. */
export function apiAccessVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_EXPIRATION_SECONDS, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}
