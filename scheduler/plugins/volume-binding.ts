// VolumeBinding (k8s pkg/scheduler/framework/plugins/volumebinding): a pod goes only where its
// PersistentVolumeClaims can be used, and claims that wait for their first consumer are bound for the node chosen.
//   PreFilter: every claim the pod names exists (else UnschedulableAndUnresolvable `persistentvolumeclaim "x" not
//     found`); an unbound claim of an Immediate class (or without class) keeps the pod out until the
//     persistentvolume-binder binds it (`pod has unbound immediate PersistentVolumeClaims`). No claims: Skip.
//   Filter: a bound claim's volume must admit the node (its spec.nodeAffinity: `node(s) had volume node affinity
//     conflict`); each unbound WaitForFirstConsumer claim needs an Available volume that matches it and admits the
//     node, or a class whose provisioner can provision there (allowedTopologies; a claim already annotated with
//     volume.kubernetes.io/selected-node only on that node) — else `node(s) didn't find available persistent volumes
//     to bind`. All three are UnschedulableAndUnresolvable, so preemption does not try.
//   Reserve: the static volumes chosen for the node are promised to their claims in this plugin's memory, so pods
//     of the next cycles do not choose them too. Unreserve forgets the promise.
//   PreBind: writes the choice — a static volume gets its claimRef (the persistentvolume-binder then completes the
//     claim's side), a claim to provision gets the selected-node annotation (the provisioner makes a volume with
//     node affinity to that node) — then waits until every claim is bound to a volume that admits the node, at
//     most bindTimeoutSeconds (args; default 600 as Kubernetes). A failure or the timeout is an error: the
//     scheduler unreserves and retries the pod with backoff.
import { errorMessage } from "../../api/errors.js";
import { isRecord } from "../../api/meta.js";
import {
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_SELECTED_NODE,
  findMatchingVolume,
  isDelayBinding,
  isVolumeBoundTo,
  NO_PROVISIONER,
  podClaimNames,
  topologyAllows,
  volumeFitsNode,
} from "../../api/persistent-volume.js";
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from "../../api/types/index.js";
import { realClock, type Clock } from "../../component-base/clock.js";
import { StateKey, Status, type CycleState, type FilterPlugin, type Handle, type PreBindPlugin, type PreFilterPlugin, type ReservePlugin, type VolumeStore } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";

export const NAME = "VolumeBinding";

export const ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";
export const ERR_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";

/** Kubernetes' VolumeBindingArgs default. */
export const DEFAULT_BIND_TIMEOUT_SECONDS = 600;
/** How often PreBind looks at the informers while waiting for the claims to be bound. */
const POLL_MS = 100;

export interface VolumeBindingArgs {
  bindTimeoutSeconds: number;
}

/** VolumeBindingArgs from pluginConfig; throws naming the bad field. */
export function parseArgs(raw: unknown): VolumeBindingArgs {
  if (raw === undefined || raw === null) return { bindTimeoutSeconds: DEFAULT_BIND_TIMEOUT_SECONDS };
  if (!isRecord(raw)) throw new Error(`${NAME} args: must be an object`);
  const t = raw.bindTimeoutSeconds ?? DEFAULT_BIND_TIMEOUT_SECONDS;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 0) throw new Error(`${NAME} args.bindTimeoutSeconds: must be a non-negative integer`);
  return { bindTimeoutSeconds: t };
}

interface StaticBinding {
  claim: Readonly<PersistentVolumeClaim>;
  volume: Readonly<PersistentVolume>;
}

/** What binding the pod's claims on one node takes. */
interface PodVolumes {
  staticBindings: StaticBinding[];
  /** Claims whose volume the class's provisioner is to make on the node. */
  provisions: Readonly<PersistentVolumeClaim>[];
  node: Readonly<Node>;
}

interface CycleData {
  bound: Readonly<PersistentVolumeClaim>[];
  /** Unbound WaitForFirstConsumer claims. */
  toBind: Readonly<PersistentVolumeClaim>[];
  /** Filter's findings by node name; Reserve and PreBind use the chosen node's. */
  byNode: Map<string, PodVolumes>;
}

const STATE = new StateKey<CycleData>(NAME);

const claimKey = (c: Readonly<PersistentVolumeClaim>): string => `${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`;

export class VolumeBinding implements PreFilterPlugin, FilterPlugin, ReservePlugin, PreBindPlugin {
  readonly name = NAME;
  private readonly store: VolumeStore | undefined;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  /** Volume name → the claim (ns/name) a reserved pod will bind it to; until its PreBind ends. */
  private readonly assumed = new Map<string, string>();

  constructor(args: VolumeBindingArgs, handle: Handle) {
    this.store = handle.volumes;
    this.clock = handle.clock ?? realClock;
    this.timeoutMs = args.bindTimeoutSeconds * 1000;
  }

  preFilter(state: CycleState, pod: Readonly<Pod>): Status {
    const names = podClaimNames(pod);
    if (names.length === 0 || !this.store) return Status.SKIP;
    const ns = pod.metadata.namespace ?? "default";
    const data: CycleData = { bound: [], toBind: [], byNode: new Map() };
    let unboundImmediate = false;
    for (const name of names) {
      const claim = this.store.claim(ns, name);
      if (!claim) return Status.unresolvable(`persistentvolumeclaim "${name}" not found`);
      if (claim.metadata.deletionTimestamp) return Status.unresolvable(`persistentvolumeclaim "${name}" is being deleted`);
      if (claim.spec?.volumeName) {
        data.bound.push(claim);
        continue;
      }
      const className = claim.spec?.storageClassName;
      const storageClass = className ? this.store.storageClass(className) : undefined;
      // Kubernetes cannot tell the binding mode of a missing class: an error, retried with backoff.
      if (className && !storageClass) return Status.error(new Error(`storageclass.storage.k8s.io "${className}" not found`));
      if (isDelayBinding(claim, storageClass)) data.toBind.push(claim);
      else unboundImmediate = true;
    }
    if (unboundImmediate) return Status.unresolvable(ERR_UNBOUND_IMMEDIATE);
    state.write(STATE, data);
    return Status.SUCCESS;
  }

  filter(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const data = state.read(STATE);
    const node = nodeInfo.node;
    if (!data || !this.store || !node) return Status.SUCCESS;
    const reasons: string[] = [];
    for (const claim of data.bound) {
      const volume = this.store.volume(claim.spec?.volumeName ?? "");
      if (!volume) return Status.unresolvable(ERR_PV_NOT_EXIST);
      if (!volumeFitsNode(volume, node)) {
        reasons.push(ERR_NODE_CONFLICT);
        break;
      }
    }
    const found: PodVolumes = { staticBindings: [], provisions: [], node };
    const chosen = new Set<string>();
    const volumes = this.store.volumes();
    for (const claim of data.toBind) {
      const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
      if (selected !== undefined && selected !== "") {
        // Provisioning for another node has been asked for already.
        if (selected !== nodeInfo.name) {
          reasons.push(ERR_BIND_CONFLICT);
          break;
        }
        found.provisions.push(claim);
        continue;
      }
      const key = claimKey(claim);
      const exclude = new Set(chosen);
      for (const [volume, owner] of this.assumed) if (owner !== key) exclude.add(volume);
      const volume = findMatchingVolume(claim, volumes, { node, exclude });
      if (volume) {
        chosen.add(volume.metadata.name ?? "");
        found.staticBindings.push({ claim, volume });
        continue;
      }
      const storageClass = this.store.storageClass(claim.spec?.storageClassName ?? "");
      if (!storageClass?.provisioner || storageClass.provisioner === NO_PROVISIONER || !topologyAllows(storageClass, node)) {
        reasons.push(ERR_BIND_CONFLICT);
        break;
      }
      found.provisions.push(claim);
    }
    if (reasons.length > 0) return Status.unresolvable(...reasons);
    data.byNode.set(nodeInfo.name, found);
    return Status.SUCCESS;
  }

  reserve(state: CycleState, _pod: Readonly<Pod>, nodeName: string): Status {
    const found = state.read(STATE)?.byNode.get(nodeName);
    if (!found) return Status.SUCCESS;
    for (const b of found.staticBindings) this.assumed.set(b.volume.metadata.name ?? "", claimKey(b.claim));
    return Status.SUCCESS;
  }

  unreserve(state: CycleState, _pod: Readonly<Pod>, nodeName: string): void {
    this.forget(state.read(STATE)?.byNode.get(nodeName));
  }

  async preBind(state: CycleState, _pod: Readonly<Pod>, nodeName: string, signal?: AbortSignal): Promise<Status> {
    const data = state.read(STATE);
    const found = data?.byNode.get(nodeName);
    if (!data || !found || !this.store) return Status.SUCCESS;
    try {
      if (found.staticBindings.length === 0 && found.provisions.length === 0) return Status.SUCCESS;
      await this.writeBindings(found, nodeName);
      await this.waitForBound(data.toBind, found.node, signal);
      return Status.SUCCESS;
    } catch (err) {
      return Status.error(new Error(`binding volumes: ${errorMessage(err)}`, { cause: err }));
    } finally {
      this.forget(found);
    }
  }

  private forget(found: PodVolumes | undefined): void {
    for (const b of found?.staticBindings ?? []) {
      const name = b.volume.metadata.name ?? "";
      if (this.assumed.get(name) === claimKey(b.claim)) this.assumed.delete(name);
    }
  }

  /** The claimRef of each chosen static volume, the selected-node annotation of each claim to provision. */
  private async writeBindings(found: PodVolumes, nodeName: string): Promise<void> {
    const store = this.store!;
    for (const { claim, volume } of found.staticBindings) {
      const current = store.volume(volume.metadata.name ?? "") ?? volume;
      if (current.spec?.claimRef) {
        if (isVolumeBoundTo(current, claim)) continue;
        throw new Error(`persistentvolume "${current.metadata.name ?? ""}" is already bound to another claim`);
      }
      const next = structuredClone(current) as PersistentVolume;
      next.spec = {
        ...next.spec,
        claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace ?? "", name: claim.metadata.name ?? "", uid: claim.metadata.uid ?? "", resourceVersion: claim.metadata.resourceVersion ?? "" },
      };
      next.metadata.annotations = { ...next.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: "yes" };
      await store.updateVolume(next);
    }
    for (const claim of found.provisions) {
      const current = store.claim(claim.metadata.namespace ?? "", claim.metadata.name ?? "") ?? claim;
      if (current.metadata.annotations?.[ANN_SELECTED_NODE] === nodeName) continue;
      const next = structuredClone(current) as PersistentVolumeClaim;
      next.metadata.annotations = { ...next.metadata.annotations, [ANN_SELECTED_NODE]: nodeName };
      await store.updateClaim(next);
    }
  }

  /** Resolves when every claim is bound to a volume that admits the node; rejects on a failure or the deadline. */
  private async waitForBound(claims: readonly Readonly<PersistentVolumeClaim>[], node: Readonly<Node>, signal?: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + this.timeoutMs;
    // A claim whose selected-node we have seen in the informer and that lost it again: the provisioner gave up.
    const seenSelected = new Set<string>();
    for (;;) {
      if (this.allBound(claims, node, seenSelected)) return;
      const left = deadline - this.clock.now();
      if (left <= 0) throw new Error("context deadline exceeded");
      if (!(await this.clock.sleep(Math.min(POLL_MS, left), signal))) {
        if (signal?.aborted) throw new Error("context canceled");
      }
    }
  }

  private allBound(claims: readonly Readonly<PersistentVolumeClaim>[], node: Readonly<Node>, seenSelected: Set<string>): boolean {
    const store = this.store!;
    const nodeName = node.metadata.name ?? "";
    let all = true;
    for (const c of claims) {
      const key = claimKey(c);
      const claim = store.claim(c.metadata.namespace ?? "", c.metadata.name ?? "");
      if (!claim || claim.metadata.uid !== c.metadata.uid) throw new Error(`persistentvolumeclaim "${key}" was deleted`);
      const volumeName = claim.spec?.volumeName;
      if (!volumeName) {
        const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
        if (selected === nodeName) seenSelected.add(key);
        else if (seenSelected.has(key)) throw new Error(`provisioning failed for PVC "${claim.metadata.name ?? ""}"`);
        all = false;
        continue;
      }
      const volume = store.volume(volumeName);
      if (!volume || claim.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined) {
        all = false;
        continue;
      }
      if (!volumeFitsNode(volume, node)) throw new Error(`pv "${volumeName}" node affinity doesn't match node "${nodeName}"`);
    }
    return all;
  }
}

export function create(args: unknown, handle: Handle): VolumeBinding {
  return new VolumeBinding(parseArgs(args), handle);
}
