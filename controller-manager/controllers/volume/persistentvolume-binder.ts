// The persistentvolume-binder controller (Kubernetes' pkg/controller/volume/persistentvolume): PersistentVolumeClaims
// meet PersistentVolumes, and kubelab's local provisioner makes the volumes nobody created.
//
// Contract:
//   - A Pending claim without spec.volumeName is bound to the smallest Available volume of its class ("" matches a
//     volume without class) whose capacity covers the request, whose access modes include the claim's and whose
//     labels its selector matches, or to a volume already pre-bound to it (claimRef). Binding writes the volume's
//     claimRef and phase Bound, then the claim's volumeName (with pv.kubernetes.io/bind-completed and
//     bound-by-controller) and its status (Bound, capacity, access modes).
//   - With no such volume and a class whose provisioner is kubelab.dev/local-path, a volume `pvc-<claim uid>` is
//     created pre-bound to the claim: a hostPath (DirectoryOrCreate) under the class's parameters.path (default
//     /var/lib/kubelab/local-path), with the class's reclaim policy (default Delete).
//     A WaitForFirstConsumer class waits for volume.kubernetes.io/selected-node, which this controller sets from
//     the first pod using the claim that is assigned to a node; the volume then has node affinity to that node.
//   - A volume whose claim is gone (or is another object with the same name) is Released; with reclaim policy
//     Delete it is deleted, with Retain it stays. A volume without claimRef is Available.
import { isConflict, isNotFound } from "../../../api/errors.js";
import { selectorFromLabelSelector } from "../../../api/labels.js";
import { compareQuantities, parseQuantity } from "../../../api/quantity.js";
import { findResource } from "../../../api/resources.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "persistentvolume-binder";
export const PVS = findResource("", "v1", "persistentvolumes")!;
export const PVCS = findResource("", "v1", "persistentvolumeclaims")!;
export const STORAGE_CLASSES = findResource("storage.k8s.io", "v1", "storageclasses")!;
export const PODS = findResource("", "v1", "pods")!;
export const LOCAL_PATH_PROVISIONER = "kubelab.dev/local-path";
export const DEFAULT_LOCAL_PATH = "/var/lib/kubelab/local-path";
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";
const BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
const BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";

export interface PersistentVolumeBinderOptions {
  client: Pick<RestClient, "create" | "update" | "updateStatus" | "delete">;
  volumes: Informer<PersistentVolume>;
  claims: Informer<PersistentVolumeClaim>;
  classes: Informer<StorageClass>;
  pods: Informer<Pod>;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

/** Queue keys: "claim:<ns>/<name>" or "volume:<name>". */
export class PersistentVolumeBinder implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly opts: PersistentVolumeBinderOptions;
  private readonly logger: Logger;

  constructor(opts: PersistentVolumeBinderOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    const claimKey = (c: Readonly<PersistentVolumeClaim>): string => `claim:${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`;
    const volumeKey = (v: Readonly<PersistentVolume>): string => `volume:${v.metadata.name ?? ""}`;
    opts.claims.addEventHandler({
      onAdd: (c) => { this.queue.add(claimKey(c)); },
      onUpdate: (_o, c) => { this.queue.add(claimKey(c)); },
      onDelete: (obj) => {
        const c = unwrapTombstone(obj);
        if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      },
    });
    opts.volumes.addEventHandler({
      onAdd: (v) => { this.queue.add(volumeKey(v)); this.claimsWaiting(); },
      onUpdate: (_o, v) => { this.queue.add(volumeKey(v)); if (v.spec?.claimRef) this.queue.add(`claim:${v.spec.claimRef.namespace ?? ""}/${v.spec.claimRef.name ?? ""}`); },
    });
    opts.pods.addEventHandler({
      onUpdate: (old, pod) => {
        if (old.spec?.nodeName || !pod.spec?.nodeName) return;
        for (const v of pod.spec.volumes ?? []) if (v.persistentVolumeClaim) this.queue.add(`claim:${pod.metadata.namespace ?? ""}/${v.persistentVolumeClaim.claimName}`);
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers({ queue: this.queue, workers: 1, sync: (key) => this.sync(key), informers: [this.opts.volumes, this.opts.claims, this.opts.classes, this.opts.pods], logger: this.logger, signal });
  }

  async sync(key: string): Promise<void> {
    try {
      if (key.startsWith("claim:")) await this.syncClaim(key.slice("claim:".length));
      else if (key.startsWith("volume:")) await this.syncVolume(key.slice("volume:".length));
    } catch (err) {
      // A conflict means our cache is behind: the update event requeues the object.
      if (isConflict(err) || isNotFound(err)) return;
      throw err;
    }
  }

  /** A new volume may suit a claim that has been waiting. */
  private claimsWaiting(): void {
    for (const c of this.opts.claims.lister.list()) {
      if (!c.spec?.volumeName) this.queue.add(`claim:${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`);
    }
  }

  private async syncClaim(key: string): Promise<void> {
    const claim = this.opts.claims.lister.get(key);
    if (!claim || claim.metadata.deletionTimestamp) return;
    const bound = claim.spec?.volumeName;
    if (bound) {
      const volume = this.opts.volumes.lister.get(bound);
      if (!volume) {
        if (claim.status?.phase !== "Lost") await this.claimStatus(claim, { phase: "Lost" });
        return;
      }
      if (!volume.spec?.claimRef) {
        await this.bindVolume(volume, claim);
        return;
      }
      if (refersTo(volume, claim) && claim.status?.phase !== "Bound") await this.claimStatus(claim, boundStatus(volume));
      return;
    }
    const match = this.findVolume(claim);
    if (match) {
      if (!match.spec?.claimRef) {
        await this.bindVolume(match, claim);
        return;
      }
      const next = structuredClone(claim) as PersistentVolumeClaim;
      next.spec = { ...next.spec, volumeName: match.metadata.name ?? "" };
      next.metadata.annotations = { ...next.metadata.annotations, [BIND_COMPLETED]: "yes", [BOUND_BY_CONTROLLER]: "yes" };
      const updated = await this.opts.client.update(PVCS, claim.metadata.namespace, next);
      await this.claimStatus(updated, boundStatus(match));
      return;
    }
    await this.provision(claim);
  }

  /** The smallest Available (or pre-bound) volume that satisfies the claim. */
  private findVolume(claim: Readonly<PersistentVolumeClaim>): Readonly<PersistentVolume> | undefined {
    const wanted = claim.spec?.resources?.requests?.storage;
    const request = wanted !== undefined ? parseQuantity(wanted) : parseQuantity(0);
    const className = claim.spec?.storageClassName ?? "";
    const modes = claim.spec?.accessModes ?? [];
    const selector = claim.spec?.selector ? selectorFromLabelSelector(claim.spec.selector) : undefined;
    const fits = this.opts.volumes.lister.list().filter((v) => {
      if (v.metadata.deletionTimestamp) return false;
      const ref = v.spec?.claimRef;
      if (ref) return refersTo(v, claim);
      if (v.status?.phase === "Released" || v.status?.phase === "Failed") return false;
      if ((v.spec?.storageClassName ?? "") !== className) return false;
      if (!modes.every((m) => v.spec?.accessModes?.includes(m))) return false;
      if (selector && !selector.matches(v.metadata.labels)) return false;
      const capacity = v.spec?.capacity?.storage;
      return capacity !== undefined && compareQuantities(parseQuantity(capacity), request) >= 0;
    });
    // A volume pre-bound to this claim wins; then the smallest.
    fits.sort((a, b) => Number(!a.spec?.claimRef) - Number(!b.spec?.claimRef) || compareQuantities(parseQuantity(a.spec?.capacity?.storage ?? "0"), parseQuantity(b.spec?.capacity?.storage ?? "0")));
    return fits[0];
  }

  private async bindVolume(volume: Readonly<PersistentVolume>, claim: Readonly<PersistentVolumeClaim>): Promise<void> {
    const next = structuredClone(volume) as PersistentVolume;
    next.spec = {
      ...next.spec,
      claimRef: { kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace ?? "", name: claim.metadata.name ?? "", uid: claim.metadata.uid ?? "", apiVersion: "v1", resourceVersion: claim.metadata.resourceVersion ?? "" },
    };
    next.metadata.annotations = { ...next.metadata.annotations, [BOUND_BY_CONTROLLER]: "yes" };
    const updated = await this.opts.client.update(PVS, undefined, next);
    await this.opts.client.updateStatus(PVS, undefined, { ...updated, status: { ...updated.status, phase: "Bound" } });
    // The claim's side follows from the volume's update event.
  }

  private async provision(claim: Readonly<PersistentVolumeClaim>): Promise<void> {
    const className = claim.spec?.storageClassName;
    if (!className) return;
    const storageClass = this.opts.classes.lister.get(className);
    if (storageClass?.provisioner !== LOCAL_PATH_PROVISIONER) return;
    let node = claim.metadata.annotations?.[SELECTED_NODE];
    if (storageClass.volumeBindingMode === "WaitForFirstConsumer" && !node) {
      node = this.firstConsumerNode(claim);
      if (!node) return;
      const next = structuredClone(claim) as PersistentVolumeClaim;
      next.metadata.annotations = { ...next.metadata.annotations, [SELECTED_NODE]: node };
      await this.opts.client.update(PVCS, claim.metadata.namespace, next);
      return; // provisioned on the update's sync
    }
    const name = `pvc-${claim.metadata.uid ?? ""}`;
    if (this.opts.volumes.lister.get(name)) return;
    const root = storageClass.parameters?.path ?? DEFAULT_LOCAL_PATH;
    const volume: PersistentVolume = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { [PROVISIONED_BY]: LOCAL_PATH_PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? "0" },
        accessModes: [...(claim.spec?.accessModes ?? ["ReadWriteOnce"])],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? "Delete",
        storageClassName: className,
        volumeMode: claim.spec?.volumeMode ?? "Filesystem",
        hostPath: { path: `${root}/${name}_${claim.metadata.namespace ?? ""}_${claim.metadata.name ?? ""}`, type: "DirectoryOrCreate" },
        claimRef: { kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace ?? "", name: claim.metadata.name ?? "", uid: claim.metadata.uid ?? "", apiVersion: "v1" },
        ...(node ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } } } : {}),
      },
    };
    await this.opts.client.create(PVS, undefined, volume);
    this.logger.info({ claim: `${claim.metadata.namespace ?? ""}/${claim.metadata.name ?? ""}`, volume: name }, "Provisioned a local-path volume");
  }

  private firstConsumerNode(claim: Readonly<PersistentVolumeClaim>): string | undefined {
    const pod = this.opts.pods.lister
      .listNamespace(claim.metadata.namespace ?? "")
      .find((p) => p.spec?.nodeName && (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name));
    return pod?.spec?.nodeName;
  }

  private async syncVolume(name: string): Promise<void> {
    const volume = this.opts.volumes.lister.get(name);
    if (!volume || volume.metadata.deletionTimestamp) return;
    const ref = volume.spec?.claimRef;
    if (!ref) {
      if (volume.status?.phase !== "Available") await this.volumePhase(volume, "Available");
      return;
    }
    const claim = this.opts.claims.lister.get(`${ref.namespace ?? ""}/${ref.name ?? ""}`);
    const gone = !claim || (ref.uid !== undefined && ref.uid !== "" && claim.metadata.uid !== ref.uid);
    if (gone) {
      // A volume pre-bound by a provisioner or an admin waits for its claim only while it has never been bound.
      if (volume.status?.phase !== "Bound" && volume.status?.phase !== "Released" && !ref.uid) return;
      if (volume.status?.phase !== "Released") await this.volumePhase(volume, "Released");
      if ((volume.spec?.persistentVolumeReclaimPolicy ?? "Retain") === "Delete") await this.opts.client.delete(PVS, undefined, name);
      return;
    }
    if (claim.spec?.volumeName === name && volume.status?.phase !== "Bound") await this.volumePhase(volume, "Bound");
  }

  private async volumePhase(volume: Readonly<PersistentVolume>, phase: string): Promise<void> {
    await this.opts.client.updateStatus(PVS, undefined, { ...structuredClone(volume), status: { ...volume.status, phase } });
  }

  private async claimStatus(claim: Readonly<PersistentVolumeClaim>, status: NonNullable<PersistentVolumeClaim["status"]>): Promise<void> {
    await this.opts.client.updateStatus(PVCS, claim.metadata.namespace, { ...structuredClone(claim), status: { ...claim.status, ...status } });
  }
}

function refersTo(volume: Readonly<PersistentVolume>, claim: Readonly<PersistentVolumeClaim>): boolean {
  const ref = volume.spec?.claimRef;
  if (!ref || ref.namespace !== claim.metadata.namespace || ref.name !== claim.metadata.name) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

function boundStatus(volume: Readonly<PersistentVolume>): NonNullable<PersistentVolumeClaim["status"]> {
  return { phase: "Bound", accessModes: [...(volume.spec?.accessModes ?? [])], capacity: { ...volume.spec?.capacity } };
}

export const createPersistentVolumeBinder: ControllerFactory = (ctx) =>
  new PersistentVolumeBinder({
    client: ctx.client,
    volumes: ctx.informers.forResource<PersistentVolume>(PVS),
    claims: ctx.informers.forResource<PersistentVolumeClaim>(PVCS),
    classes: ctx.informers.forResource<StorageClass>(STORAGE_CLASSES),
    pods: ctx.informers.forResource<Pod>(PODS),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
