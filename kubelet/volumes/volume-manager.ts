// The pod's volumes on the node's disk under <root-dir>/pods/<uid>/, in Kubernetes' layout
// (volumes/kubernetes.io~<plugin>/<volume>, etc-hosts), and the mounts each container gets (its volumeMounts plus
// /etc/hosts). setUpPod is meant to run on every pod sync: volumes already set up cost nothing, and configMap,
// secret, downwardAPI and projected contents are rewritten (atomically, see atomic-writer.ts) only when they changed.
import { chmodSync, existsSync, lstatSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { chmod, lchown, mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join, sep } from "node:path";
import type * as cri from "../../client/cri/types.js";
import type {
  ConfigMap,
  Container,
  DownwardAPIVolumeFile,
  HostPathType,
  KeyToPath,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  ResourceList,
  Secret,
  Volume,
  VolumeMount,
} from "../../api/types/index.js";
import { parseQuantity, quantityValue } from "../../api/quantity.js";
import type { Logger } from "../../component-base/logging.js";
import { ContainerConfigError } from "../container-env/env.js";
import { containerResourceValue, DownwardAPIError, machineAllocatable, podFieldValue } from "../container-env/downward-api.js";
import { expand, lookupIn } from "../container-env/expansion.js";
import { AtomicWriter, type FileProjection, type Payload } from "./atomic-writer.js";
import { hostMountOps, type MountOps } from "./mounts.js";
import type { ServiceAccountTokenManager } from "./service-account-token.js";

export interface VolumeSources {
  getConfigMap(namespace: string, name: string): Promise<Readonly<ConfigMap> | undefined>;
  getSecret(namespace: string, name: string): Promise<Readonly<Secret> | undefined>;
  /** The tokens of serviceAccountToken projections; absent (hollow nodes), those sources are skipped. */
  tokens?: ServiceAccountTokenManager;
  /** Claims and their volumes, for persistentVolumeClaim volumes; absent (hollow nodes), those are skipped. */
  getPersistentVolumeClaim?(namespace: string, name: string): Promise<Readonly<PersistentVolumeClaim> | undefined>;
  getPersistentVolume?(name: string): Promise<Readonly<PersistentVolume> | undefined>;
}

export interface VolumeManagerOptions {
  /** --root-dir */
  rootDir: string;
  sources: VolumeSources;
  logger: Logger;
  nodeName: string;
  /** The node's IPs, for downwardAPI status.hostIP(s); default the pod's status.hostIPs. */
  nodeIPs?: readonly string[];
  /** The node's allocatable, for downwardAPI limits a container does not set; default the machine's. */
  nodeAllocatable?: Readonly<ResourceList>;
  /**
   * Back emptyDir medium Memory and secret volumes with tmpfs, as Kubernetes does (default true). Where the host
   * refuses the mount they are plain directories, and the log says so.
   */
  tmpfs?: boolean;
  /** The mount operations (tests inject fakes). */
  mountOps?: MountOps;
  /**
   * Write the volumes to disk (default true). false is for hollow nodes, whose containers never read a file: every
   * source is still resolved and every payload built, so that a missing ConfigMap, Secret, key or token fails as on
   * a real node (FailedMount), but nothing is created under rootDir — no directories, contents or /etc/hosts — and
   * the mounts name the paths the files would have. hostPath volumes are still checked on the host.
   */
  writeToDisk?: boolean;
}

/** A volume that cannot be set up yet (missing ConfigMap/Secret not optional): the pod waits, event FailedMount. */
export class VolumeSetupError extends Error {
  override name = "VolumeSetupError";
  /** One entry per volume that failed, each worth its own FailedMount event. */
  readonly failures: readonly { volume: string; message: string }[];

  constructor(message: string, failures: readonly { volume: string; message: string }[] = []) {
    super(message);
    this.failures = failures;
  }
}

/** Kubernetes' plugin directory names under volumes/. */
const PLUGIN_DIRS = {
  emptyDir: "kubernetes.io~empty-dir",
  configMap: "kubernetes.io~configmap",
  secret: "kubernetes.io~secret",
  downwardAPI: "kubernetes.io~downward-api",
  projected: "kubernetes.io~projected",
} as const;

type ManagedKind = keyof typeof PLUGIN_DIRS;

const DEFAULT_MODE = 0o644;
const ETC_HOSTS = "/etc/hosts";
/** The volume sources kubelab supports, for the message about the others. */
const SUPPORTED = "emptyDir, configMap, secret, hostPath, downwardAPI, projected and persistentVolumeClaim (bound to a hostPath volume)";

/** Which source a volume uses: the first key besides its name. */
function volumeKind(volume: Readonly<Volume>): string | undefined {
  return Object.keys(volume).find((k) => k !== "name" && (volume as unknown as Record<string, unknown>)[k] !== undefined);
}

export class VolumeManager {
  private readonly writer = new AtomicWriter();
  private readonly mountOps: MountOps;
  /** Volume directories known to be set up (emptyDir, tmpfs-backed dirs): nothing to do on the next sync. */
  private readonly ready = new Set<string>();
  /** Pod uid + volume already noted as having a source kubelab skips, so the note is logged once. */
  private readonly noted = new Set<string>();
  /** Pod uid + claim volume → the host path of the PersistentVolume bound to it (set up by setUpPod). */
  private readonly claimPaths = new Map<string, string>();
  /** Without writeToDisk: the pods whose /etc/hosts setUpPod would have written (mountsFor mounts it). */
  private readonly hostsFiles = new Set<string>();

  constructor(readonly options: VolumeManagerOptions) {
    this.mountOps = options.mountOps ?? hostMountOps;
  }

  private get onDisk(): boolean {
    return this.options.writeToDisk !== false;
  }

  /** <root-dir>/pods/<uid> */
  podDir(podUid: string): string {
    return join(this.options.rootDir, "pods", podUid);
  }

  /** The pod's managed /etc/hosts on the node. */
  hostsFilePath(podUid: string): string {
    return join(this.podDir(podUid), "etc-hosts");
  }

  /** Where a volume's contents live on the node: the hostPath itself, or its directory under the pod's. */
  volumePath(pod: Readonly<Pod>, volume: Readonly<Volume>): string {
    if (volume.hostPath) return volume.hostPath.path;
    const claimPath = volume.persistentVolumeClaim ? this.claimPaths.get(`${podUid(pod)}/${volume.name}`) : undefined;
    if (claimPath !== undefined) return claimPath;
    const kind = volumeKind(volume);
    const plugin = kind !== undefined && kind in PLUGIN_DIRS ? PLUGIN_DIRS[kind as ManagedKind] : `kubernetes.io~${kind ?? "unknown"}`;
    return join(this.podDir(podUid(pod)), "volumes", plugin, volume.name);
  }

  /**
   * Makes every volume of the pod ready (idempotent; refreshes configMap/secret/downwardAPI contents in place when
   * they changed) and writes the pod's /etc/hosts ("" writes none: a host-network pod without a managed file).
   * Every volume is tried; throws VolumeSetupError naming each one that failed.
   */
  async setUpPod(pod: Readonly<Pod>, hostsFile: string): Promise<void> {
    const uid = podUid(pod);
    if (this.onDisk) await mkdir(join(this.podDir(uid), "volumes"), { recursive: true, mode: 0o750 });
    const failures: { volume: string; message: string }[] = [];
    for (const volume of pod.spec?.volumes ?? []) {
      try {
        await this.setUpVolume(pod, volume);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        failures.push({ volume: volume.name, message: `MountVolume.SetUp failed for volume "${volume.name}" : ${reason}` });
      }
    }
    if (hostsFile !== "" && this.onDisk) await writeInPlace(this.hostsFilePath(uid), hostsFile);
    else if (hostsFile !== "") this.hostsFiles.add(uid);
    if (failures.length > 0) throw new VolumeSetupError(failures.map((f) => f.message).join("; "), failures);
  }

  private async setUpVolume(pod: Readonly<Pod>, volume: Readonly<Volume>): Promise<void> {
    const dir = this.volumePath(pod, volume);
    const namespace = pod.metadata.namespace ?? "default";
    const log = this.options.logger;
    if (volume.emptyDir) {
      if (this.ready.has(dir) || !this.onDisk) return;
      const memory = volume.emptyDir.medium === "Memory";
      await this.makeVolumeDir(dir, memory, volume.emptyDir.sizeLimit, 0o777);
      const fsGroup = pod.spec?.securityContext?.fsGroup;
      if (fsGroup !== undefined) {
        // Kubernetes' volume ownership: the pod's group owns the directory, and new files inherit it (setgid).
        await lchown(dir, -1, fsGroup);
        await chmod(dir, 0o2777);
      }
      this.ready.add(dir);
    } else if (volume.hostPath) {
      await checkHostPath(volume.hostPath.path, volume.hostPath.type ?? "");
    } else if (volume.persistentVolumeClaim) {
      await this.setUpClaim(pod, volume.name, volume.persistentVolumeClaim.claimName);
    } else if (volume.configMap) {
      const src = volume.configMap;
      const cm = await this.options.sources.getConfigMap(namespace, src.name ?? "");
      if (!cm && src.optional !== true) throw new Error(`configmap "${src.name ?? ""}" not found`);
      const payload = cm ? configMapPayload(cm, src.items, src.defaultMode ?? DEFAULT_MODE, src.optional === true) : new Map<string, FileProjection>();
      await this.writePayload(pod, dir, payload, false);
    } else if (volume.secret) {
      const src = volume.secret;
      const secret = await this.options.sources.getSecret(namespace, src.secretName ?? "");
      if (!secret && src.optional !== true) throw new Error(`secret "${src.secretName ?? ""}" not found`);
      const payload = secret ? secretPayload(secret, src.items, src.defaultMode ?? DEFAULT_MODE, src.optional === true) : new Map<string, FileProjection>();
      await this.writePayload(pod, dir, payload, true);
    } else if (volume.downwardAPI) {
      const payload = this.downwardPayload(pod, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode ?? DEFAULT_MODE);
      await this.writePayload(pod, dir, payload, false);
    } else if (volume.projected) {
      const defaultMode = volume.projected.defaultMode ?? DEFAULT_MODE;
      const payload: Payload = new Map();
      const errors: string[] = [];
      for (const source of volume.projected.sources ?? []) {
        if (source.configMap) {
          const src = source.configMap;
          const cm = await this.options.sources.getConfigMap(namespace, src.name ?? "");
          if (!cm) {
            if (src.optional !== true) errors.push(`configmap "${src.name ?? ""}" not found`);
            continue;
          }
          mergeInto(payload, configMapPayload(cm, src.items, defaultMode, src.optional === true));
        } else if (source.secret) {
          const src = source.secret;
          const secret = await this.options.sources.getSecret(namespace, src.name ?? "");
          if (!secret) {
            if (src.optional !== true) errors.push(`secret "${src.name ?? ""}" not found`);
            continue;
          }
          mergeInto(payload, secretPayload(secret, src.items, defaultMode, src.optional === true));
        } else if (source.downwardAPI) {
          mergeInto(payload, this.downwardPayload(pod, source.downwardAPI.items ?? [], defaultMode));
        } else if (source.serviceAccountToken && this.options.sources.tokens) {
          const src = source.serviceAccountToken;
          try {
            const token = await this.options.sources.tokens.token(pod, src);
            payload.set(src.path, { data: Buffer.from(token), mode: defaultMode });
          } catch (err) {
            errors.push(`failed to fetch token: ${err instanceof Error ? err.message : String(err)}`);
          }
        } else if (source.serviceAccountToken) {
          const key = `${podUid(pod)}/${volume.name}`;
          if (!this.noted.has(key)) {
            this.noted.add(key);
            log.debug(
              { pod: `${namespace}/${pod.metadata.name}`, volume: volume.name, path: source.serviceAccountToken.path },
              "Skipping the serviceAccountToken source of a projected volume: this node requests no tokens",
            );
          }
        }
      }
      if (errors.length > 0) throw new Error(errors.join(", "));
      await this.writePayload(pod, dir, payload, false);
    } else {
      const kind = volumeKind(volume) ?? "(none)";
      throw new VolumeSetupError(`volume type ${kind} is not supported by kubelab (it supports ${SUPPORTED})`);
    }
  }

  /** A claim's volume is the hostPath of the PersistentVolume bound to it; the claim must be Bound. */
  private async setUpClaim(pod: Readonly<Pod>, volumeName: string, claimName: string): Promise<void> {
    const sources = this.options.sources;
    const namespace = pod.metadata.namespace ?? "default";
    if (!sources.getPersistentVolumeClaim || !sources.getPersistentVolume) {
      await this.makeVolumeDir(this.volumePath(pod, { name: volumeName, persistentVolumeClaim: { claimName } }), false, undefined, 0o777);
      return;
    }
    const claim = await sources.getPersistentVolumeClaim(namespace, claimName);
    if (!claim) throw new Error(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = claim.spec?.volumeName;
    if (!pvName || claim.status?.phase !== "Bound") throw new Error(`PVC ${namespace}/${claimName} is not bound`);
    const pv = await sources.getPersistentVolume(pvName);
    if (!pv) throw new Error(`persistentvolume "${pvName}" not found`);
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw new Error(`persistentvolume "${pvName}" is not a hostPath or local volume, which is all kubelab mounts`);
    await checkHostPath(path, pv.spec?.hostPath ? ((pv.spec.hostPath.type ?? "") as HostPathType) : "Directory");
    this.claimPaths.set(`${podUid(pod)}/${volumeName}`, path);
  }

  private downwardPayload(pod: Readonly<Pod>, items: readonly DownwardAPIVolumeFile[], defaultMode: number): Payload {
    let podIPs = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== "");
    if (podIPs.length === 0 && pod.status?.podIP) podIPs = [pod.status.podIP];
    const ctx = { podIPs, hostIPs: this.options.nodeIPs ?? (pod.status?.hostIPs ?? []).map((h) => h.ip) };
    const payload: Payload = new Map();
    const errors: string[] = [];
    for (const item of items) {
      let value: string;
      try {
        if (item.fieldRef) value = podFieldValue(pod, item.fieldRef.fieldPath, ctx);
        else if (item.resourceFieldRef) {
          value = containerResourceValue(item.resourceFieldRef, pod, undefined, this.options.nodeAllocatable ?? machineAllocatable());
        } else continue;
      } catch (err) {
        if (!(err instanceof DownwardAPIError)) throw err;
        errors.push(err.message);
        continue;
      }
      payload.set(item.path, { data: Buffer.from(value), mode: item.mode ?? defaultMode });
    }
    if (errors.length > 0) throw new Error(errors.join(", "));
    return payload;
  }

  /**
   * Writes a payload volume, its directory a tmpfs for secrets when possible. With a pod fsGroup, the group owns
   * the files and may read them (Kubernetes' ownership rule for read-only volumes).
   */
  private async writePayload(pod: Readonly<Pod>, dir: string, payload: Payload, memory: boolean): Promise<void> {
    if (!this.onDisk) return;
    if (!this.ready.has(dir)) {
      await this.makeVolumeDir(dir, memory, undefined, 0o755);
      this.ready.add(dir);
    }
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    if (fsGroup !== undefined) for (const file of payload.values()) file.mode |= 0o440;
    const written = await this.writer.write(dir, payload, fsGroup !== undefined ? { gid: fsGroup } : {});
    if (written) this.options.logger.debug({ dir, files: payload.size }, "Wrote volume contents");
  }

  /** A volume's directory; memory-backed ones get a tmpfs unless one is mounted already or the host refuses. */
  private async makeVolumeDir(dir: string, memory: boolean, sizeLimit: string | undefined, mode: number): Promise<void> {
    if (!this.onDisk) return;
    await mkdir(dir, { recursive: true });
    await chmod(dir, mode);
    if (!memory) return;
    if (this.options.tmpfs === false) {
      this.options.logger.info({ dir }, "Memory-backed volume is a plain directory: tmpfs is turned off");
      return;
    }
    if (this.mountOps.mountPointsUnder(dir).includes(dir)) return;
    let size: number | undefined;
    try {
      size = sizeLimit !== undefined ? quantityValue(parseQuantity(sizeLimit)) : undefined;
    } catch {
      size = undefined;
    }
    try {
      await this.mountOps.mountTmpfs(dir, size);
      await chmod(dir, mode);
    } catch (err) {
      this.options.logger.warn(
        { dir, err: err instanceof Error ? err.message : String(err) },
        "Memory-backed volume is a plain directory: the host refused a tmpfs mount",
      );
    }
  }

  /**
   * The CRI mounts for one container: its volumeMounts and /etc/hosts when setUpPod wrote one (as Kubernetes, also
   * for a host-network pod: the node's file plus hostAliases) and the container mounts nothing at /etc/hosts itself. env expands subPathExpr. Creates a
   * missing subPath directory. Throws ContainerConfigError (the container cannot be created as specified).
   */
  mountsFor(pod: Readonly<Pod>, container: Readonly<Container>, env: readonly cri.KeyValue[] = []): cri.Mount[] {
    const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts: cri.Mount[] = [];
    let manageHosts = true;
    for (const vm of container.volumeMounts ?? []) {
      if (vm.mountPath === ETC_HOSTS) manageHosts = false;
      const volume = volumes.get(vm.name);
      if (!volume) throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${container.name}"`);
      const volumePath = this.volumePath(pod, volume);
      const hostPath = this.subPathOf(vm, volumePath, container.name, env);
      const kind = volumeKind(volume);
      const readOnlyVolume = kind === "configMap" || kind === "secret" || kind === "downwardAPI" || kind === "projected";
      mounts.push({
        containerPath: vm.mountPath,
        hostPath,
        readonly: vm.readOnly === true || readOnlyVolume,
        selinuxRelabel: false,
        propagation: propagationOf(vm.mountPropagation),
        recursiveReadOnly: false,
      });
    }
    const hostsFile = this.hostsFilePath(podUid(pod));
    if (manageHosts && (this.onDisk ? existsSync(hostsFile) : this.hostsFiles.has(podUid(pod)))) {
      mounts.push({
        containerPath: ETC_HOSTS,
        hostPath: hostsFile,
        readonly: false,
        selinuxRelabel: false,
        propagation: "PROPAGATION_PRIVATE",
        recursiveReadOnly: false,
      });
    }
    return mounts;
  }

  /** The host path a mount binds: the volume, or its subPath (created if missing, kept inside the volume). */
  private subPathOf(vm: Readonly<VolumeMount>, volumePath: string, containerName: string, env: readonly cri.KeyValue[]): string {
    let subPath = vm.subPath ?? "";
    if (vm.subPathExpr) subPath = expand(vm.subPathExpr, lookupIn(new Map(env.map((kv) => [kv.key, kv.value]))));
    if (subPath === "") return volumePath;
    if (isAbsolute(subPath)) throw new ContainerConfigError(`error SubPath \`${subPath}\` must not be an absolute path`);
    if (subPath.split(/[\\/]/).includes("..")) {
      throw new ContainerConfigError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
    }
    const target = join(volumePath, subPath);
    if (!this.onDisk) return target;
    let exists = true;
    try {
      lstatSync(target);
    } catch {
      exists = false;
    }
    if (!exists) {
      try {
        // The new directory gets the volume's own permissions, so a group-writable volume stays usable.
        const perm = statSync(volumePath).mode & 0o7777;
        const realVolume = realpathSync(volumePath);
        let dir = volumePath;
        for (const part of subPath.split("/").filter((s) => s !== "" && s !== ".")) {
          // Never create anything through a symlink that leaves the volume.
          if (!within(realpathSync(dir), realVolume)) throw new Error("outside the volume");
          dir = join(dir, part);
          if (existsSync(dir)) continue;
          mkdirSync(dir);
          chmodSync(dir, perm);
        }
      } catch {
        throw new ContainerConfigError(`failed to create subPath directory for volumeMount "${vm.name}" of container "${containerName}"`);
      }
    }
    // A symlink in the volume must not lead the bind mount outside it.
    let real: string;
    let realVolume: string;
    try {
      real = realpathSync(target);
      realVolume = realpathSync(volumePath);
    } catch (err) {
      throw new ContainerConfigError(`unable to provision SubPath \`${subPath}\`: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!within(real, realVolume)) {
      throw new ContainerConfigError(`subpath "${real}" not within volume path "${realVolume}"`);
    }
    return real;
  }

  /** Removes everything the pod had on disk (after its containers are gone), unmounting its tmpfs volumes first. */
  async tearDownPod(podUid: string): Promise<void> {
    if (!usableUid(podUid)) throw new VolumeSetupError(`refusing to tear down pod directory for uid "${podUid}"`);
    const dir = this.podDir(podUid);
    if (this.onDisk) {
      for (const point of this.mountOps.mountPointsUnder(dir)) await this.mountOps.unmount(point);
      await rm(dir, { recursive: true, force: true });
    }
    this.hostsFiles.delete(podUid);
    this.writer.forget(dir + sep);
    for (const d of [...this.ready]) if (d.startsWith(dir + sep)) this.ready.delete(d);
    for (const k of [...this.noted]) if (k.startsWith(`${podUid}/`)) this.noted.delete(k);
    for (const k of [...this.claimPaths.keys()]) if (k.startsWith(`${podUid}/`)) this.claimPaths.delete(k);
    this.options.sources.tokens?.forget(podUid);
  }
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

/** A uid that names one directory below pods/ (never pods/ itself or anything outside it). */
function usableUid(uid: string): boolean {
  return uid !== "" && !uid.includes("/") && !uid.startsWith(".");
}

function podUid(pod: Readonly<Pod>): string {
  const uid = pod.metadata.uid ?? "";
  if (!usableUid(uid)) throw new VolumeSetupError(`pod ${pod.metadata.name ?? ""} has no usable uid`);
  return uid;
}

function propagationOf(mode: VolumeMount["mountPropagation"]): cri.MountPropagation {
  switch (mode) {
    case "HostToContainer":
      return "PROPAGATION_HOST_TO_CONTAINER";
    case "Bidirectional":
      return "PROPAGATION_BIDIRECTIONAL";
    case undefined:
    case "None":
      return "PROPAGATION_PRIVATE";
    default:
      throw new ContainerConfigError(`invalid MountPropagation mode: "${String(mode)}"`);
  }
}

/** Rewrites a file in place (same inode) when its contents differ: a bind-mounted file shows the change. */
async function writeInPlace(path: string, content: string): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current === content) return;
  await writeFile(path, content, { mode: 0o644 });
}

function configMapPayload(cm: Readonly<ConfigMap>, items: readonly KeyToPath[] | undefined, defaultMode: number, optional: boolean): Payload {
  const entries = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) entries.set(k, Buffer.from(v, "utf8"));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) entries.set(k, Buffer.from(v, "base64"));
  return keyedPayload(entries, items, defaultMode, optional, (key) => `configmap references non-existent config key: ${key}`);
}

function secretPayload(secret: Readonly<Secret>, items: readonly KeyToPath[] | undefined, defaultMode: number, optional: boolean): Payload {
  const entries = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) entries.set(k, Buffer.from(v, "base64"));
  return keyedPayload(entries, items, defaultMode, optional, (key) => `references non-existent secret key: ${key}`);
}

/** Every key as a file, or only the listed items at their paths (a missing key fails unless optional). */
function keyedPayload(
  entries: ReadonlyMap<string, Buffer>,
  items: readonly KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  missingKey: (key: string) => string,
): Payload {
  const payload: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [key, data] of entries) payload.set(key, { data, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const data = entries.get(item.key);
    if (data === undefined) {
      if (optional) continue;
      throw new Error(missingKey(item.key));
    }
    payload.set(item.path, { data, mode: item.mode ?? defaultMode });
  }
  return payload;
}

function mergeInto(target: Payload, source: ReadonlyMap<string, FileProjection>): void {
  for (const [k, v] of source) target.set(k, v);
}

/** Kubernetes' hostPath type checks (hostpath.checkType), creating what the *OrCreate types ask for. */
export async function checkHostPath(path: string, type: HostPathType): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  switch (type) {
    case "":
      return;
    case "DirectoryOrCreate":
      if (!info) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
      if (!info.isDirectory()) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case "Directory":
      if (!info?.isDirectory()) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case "FileOrCreate":
      if (!info) {
        // Like Kubernetes, the parent directory must exist.
        const handle = await open(path, "a", 0o644);
        await handle.close();
        return;
      }
      if (!info.isFile()) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case "File":
      if (!info?.isFile()) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case "Socket":
      if (!info?.isSocket()) throw new Error(`hostPath type check failed: ${path} is not a socket file`);
      return;
    case "CharDevice":
      if (!info?.isCharacterDevice()) throw new Error(`hostPath type check failed: ${path} is not a character device`);
      return;
    case "BlockDevice":
      if (!info?.isBlockDevice()) throw new Error(`hostPath type check failed: ${path} is not a block device`);
      return;
    default:
      throw new Error(`${String(type)} is an invalid volume type`);
  }
}
