// The persistentvolume-binder controller (Kubernetes' pkg/controller/volume/persistentvolume): PersistentVolumeClaims
// meet PersistentVolumes, and kubelab's local provisioner makes the volumes nobody created.
//
// Contract:
//   - A Pending claim without spec.volumeName is bound to the smallest Available volume of its class ("" matches a
//     volume without class) whose capacity covers the request, whose access modes include the claim's and whose
//     labels its selector matches, or to a volume already pre-bound to it (claimRef). A claim of a
//     WaitForFirstConsumer class is bound only to a volume pre-bound to it: the scheduler's VolumeBinding plugin
//     picks a static volume fitting the pod's node and writes its claimRef. Binding writes the volume's
//     claimRef and phase Bound, then the claim's volumeName (with pv.kubernetes.io/bind-completed and
//     bound-by-controller) and its status (Bound, capacity, access modes).
//   - With no such volume and a class whose provisioner is kubelab.dev/local-path, a volume `pvc-<claim uid>` is
//     created pre-bound to the claim: a hostPath (DirectoryOrCreate) under the class's parameters.path (default
//     /var/lib/kubelab/local-path), with the class's reclaim policy (default Delete).
//     A WaitForFirstConsumer class waits for volume.kubernetes.io/selected-node, which the scheduler sets on the
//     claim once it has chosen a node for its first pod; the volume then has node affinity to that node.
//   - A volume whose claim is gone (or is another object with the same name) is Released; with reclaim policy
//     Delete it is deleted, with Retain it stays. A volume without claimRef is Available.
import { isConflict, isNotFound } from "../../../api/errors.js";
import { ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, findMatchingVolume, isDelayBinding, isVolumeBoundTo } from "../../../api/persistent-volume.js";
import { findResource } from "../../../api/resources.js";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../api/types/index.js";
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
export const LOCAL_PATH_PROVISIONER = "kubelab.dev/local-path";
export const DEFAULT_LOCAL_PATH = "/var/lib/kubelab/local-path";
export const SELECTED_NODE = ANN_SELECTED_NODE;
const BIND_COMPLETED = ANN_BIND_COMPLETED;
const BOUND_BY_CONTROLLER = ANN_BOUND_BY_CONTROLLER;
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";

export interface PersistentVolumeBinderOptions {
  client: Pick<RestClient, "create" | "update" | "updateStatus" | "delete">;
  volumes: Informer<PersistentVolume>;
  claims: Informer<PersistentVolumeClaim>;
  classes: Informer<StorageClass>;
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
      onUpdate: (_o, c) => {
        this.queue.add(claimKey(c));
        // A volume someone else pre-bound (the scheduler) becomes Bound once its claim names it.
        if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      },
      onDelete: (obj) => {
        const c = unwrapTombstone(obj);
        if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      },
    });
    opts.volumes.addEventHandler({
      onAdd: (v) => { this.queue.add(volumeKey(v)); this.claimsWaiting(); },
      onUpdate: (_o, v) => {
        this.queue.add(volumeKey(v));
        if (v.spec?.claimRef) this.queue.add(`claim:${v.spec.claimRef.namespace ?? ""}/${v.spec.claimRef.name ?? ""}`);
        // A free volume changed (e.g. became Available): a claim whose bind attempt lost a race with that change
        // (a conflict, dropped) gets another chance.
        else this.claimsWaiting();
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await runWorkers({ queue: this.queue, workers: 1, sync: (key) => this.sync(key), informers: [this.opts.volumes, this.opts.claims, this.opts.classes], logger: this.logger, signal });
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
      if (isVolumeBoundTo(volume, claim) && claim.status?.phase !== "Bound") await this.claimStatus(claim, boundStatus(volume));
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

  /**
   * The volume for the claim (api/persistent-volume.ts). A claim waiting for its first consumer gets only a volume
   * pre-bound to it: the scheduler chooses static volumes for such claims, knowing the node.
   */
  private findVolume(claim: Readonly<PersistentVolumeClaim>): Readonly<PersistentVolume> | undefined {
    const className = claim.spec?.storageClassName;
    const storageClass = className ? this.opts.classes.lister.get(className) : undefined;
    return findMatchingVolume(claim, this.opts.volumes.lister.list(), { delayBinding: isDelayBinding(claim, storageClass) });
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
    const node = claim.metadata.annotations?.[SELECTED_NODE];
    // The scheduler names the node (VolumeBinding's PreBind); until then there is nothing to provision.
    if (storageClass.volumeBindingMode === "WaitForFirstConsumer" && !node) return;
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

function boundStatus(volume: Readonly<PersistentVolume>): NonNullable<PersistentVolumeClaim["status"]> {
  return { phase: "Bound", accessModes: [...(volume.spec?.accessModes ?? [])], capacity: { ...volume.spec?.capacity } };
}

export const createPersistentVolumeBinder: ControllerFactory = (ctx) =>
  new PersistentVolumeBinder({
    client: ctx.client,
    volumes: ctx.informers.forResource<PersistentVolume>(PVS),
    claims: ctx.informers.forResource<PersistentVolumeClaim>(PVCS),
    classes: ctx.informers.forResource<StorageClass>(STORAGE_CLASSES),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
