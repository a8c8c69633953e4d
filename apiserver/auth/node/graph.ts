// The Node authorizer's graph: which secrets, configmaps, persistent volume claims and service accounts each node
// may reach through the pods bound to it, kept from the pods cache (and persistent volumes through the claim they
// are bound to, from the persistentvolumes cache). Kubernetes keeps a general graph; here each node has a count of
// references per object, which answers the same question ("is there a pod on this node using it?") in one lookup.
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";

export type VertexType = "secret" | "configmap" | "persistentvolumeclaim" | "persistentvolume" | "serviceaccount" | "pod";

const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

interface PodEntry {
  node: string;
  refs: string[];
}

interface VolumeEntry {
  claim: string;
  secrets: string[];
}

function key(type: VertexType, namespace: string, name: string): string {
  return `${type}/${namespace}/${name}`;
}

function nameOf(value: unknown, field: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const name = value[field];
  return typeof name === "string" && name !== "" ? name : undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The objects a pod uses, as Kubernetes' VisitPodSecretNames / VisitPodConfigmapNames and its volumes name them. */
export function podReferences(pod: KubeObject): { type: VertexType; name: string }[] {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const out: { type: VertexType; name: string }[] = [];
  const add = (type: VertexType, name: string | undefined): void => {
    if (name !== undefined) out.push({ type, name });
  };
  const account = nameOf(spec, "serviceAccountName");
  add("serviceaccount", account);
  for (const ref of records(spec.imagePullSecrets)) add("secret", nameOf(ref, "name"));
  for (const list of ["initContainers", "containers", "ephemeralContainers"]) {
    for (const container of records(spec[list])) {
      for (const from of records(container.envFrom)) {
        add("secret", nameOf(from.secretRef, "name"));
        add("configmap", nameOf(from.configMapRef, "name"));
      }
      for (const env of records(container.env)) {
        const source = isRecord(env.valueFrom) ? env.valueFrom : {};
        add("secret", nameOf(source.secretKeyRef, "name"));
        add("configmap", nameOf(source.configMapKeyRef, "name"));
      }
    }
  }
  for (const volume of records(spec.volumes)) {
    add("secret", nameOf(volume.secret, "secretName"));
    add("configmap", nameOf(volume.configMap, "name"));
    add("persistentvolumeclaim", nameOf(volume.persistentVolumeClaim, "claimName"));
    if (isRecord(volume.ephemeral) && typeof volume.name === "string") add("persistentvolumeclaim", `${pod.metadata.name ?? ""}-${volume.name}`);
    add("secret", nameOf(volume.azureFile, "secretName"));
    add("secret", nameOf(isRecord(volume.csi) ? volume.csi.nodePublishSecretRef : undefined, "name"));
    for (const plugin of ["cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos"]) {
      add("secret", nameOf(isRecord(volume[plugin]) ? volume[plugin].secretRef : undefined, "name"));
    }
    const projected = isRecord(volume.projected) ? volume.projected : {};
    for (const source of records(projected.sources)) {
      add("secret", nameOf(source.secret, "name"));
      add("configmap", nameOf(source.configMap, "name"));
    }
  }
  return out;
}

/** Secrets a persistent volume names that the kubelet uses to mount it (in the claim's namespace unless given). */
function volumeSecrets(pv: KubeObject, claimNamespace: string): string[] {
  const spec = isRecord(pv.spec) ? pv.spec : {};
  const out: string[] = [];
  const add = (ref: unknown): void => {
    const name = nameOf(ref, "name");
    if (name === undefined || !isRecord(ref)) return;
    out.push(key("secret", typeof ref.namespace === "string" && ref.namespace !== "" ? ref.namespace : claimNamespace, name));
  };
  if (isRecord(spec.csi)) {
    add(spec.csi.nodePublishSecretRef);
    add(spec.csi.nodeStageSecretRef);
    add(spec.csi.nodeExpandSecretRef);
  }
  for (const plugin of ["cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos"]) {
    if (isRecord(spec[plugin])) add(spec[plugin].secretRef);
  }
  return out;
}

export class NodeGraph {
  private readonly pods = new Map<string, PodEntry>();
  /** node → object key → how many of its pods use the object. */
  private readonly reachable = new Map<string, Map<string, number>>();
  private readonly volumes = new Map<string, VolumeEntry>();

  upsertPod(pod: KubeObject): void {
    this.removePod(pod);
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const node = typeof spec.nodeName === "string" ? spec.nodeName : "";
    if (node === "") return;
    const namespace = pod.metadata.namespace ?? "";
    const refs = [key("pod", namespace, pod.metadata.name ?? "")];
    // A mirror pod is the node's own creation: it must never give the node access to anything else.
    if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] === undefined) {
      for (const ref of podReferences(pod)) refs.push(key(ref.type, namespace, ref.name));
    }
    let counts = this.reachable.get(node);
    if (!counts) {
      counts = new Map();
      this.reachable.set(node, counts);
    }
    for (const ref of refs) counts.set(ref, (counts.get(ref) ?? 0) + 1);
    this.pods.set(key("pod", namespace, pod.metadata.name ?? ""), { node, refs });
  }

  removePod(pod: KubeObject): void {
    const podKey = key("pod", pod.metadata.namespace ?? "", pod.metadata.name ?? "");
    const entry = this.pods.get(podKey);
    if (!entry) return;
    this.pods.delete(podKey);
    const counts = this.reachable.get(entry.node);
    if (!counts) return;
    for (const ref of entry.refs) {
      const n = (counts.get(ref) ?? 0) - 1;
      if (n <= 0) counts.delete(ref);
      else counts.set(ref, n);
    }
    if (counts.size === 0) this.reachable.delete(entry.node);
  }

  upsertVolume(pv: KubeObject): void {
    const spec = isRecord(pv.spec) ? pv.spec : {};
    const claimRef = isRecord(spec.claimRef) ? spec.claimRef : undefined;
    const name = pv.metadata.name ?? "";
    if (!claimRef || typeof claimRef.name !== "string") {
      this.volumes.delete(name);
      return;
    }
    const namespace = typeof claimRef.namespace === "string" ? claimRef.namespace : "";
    this.volumes.set(name, { claim: key("persistentvolumeclaim", namespace, claimRef.name), secrets: volumeSecrets(pv, namespace) });
  }

  removeVolume(pv: KubeObject): void {
    this.volumes.delete(pv.metadata.name ?? "");
  }

  resetPods(): void {
    this.pods.clear();
    this.reachable.clear();
  }

  resetVolumes(): void {
    this.volumes.clear();
  }

  /** Whether a pod bound to `node` uses the object (for a volume: its claim; for a secret: also a used volume's). */
  hasPath(node: string, type: VertexType, namespace: string, name: string): boolean {
    const counts = this.reachable.get(node);
    if (!counts) return false;
    if (type === "persistentvolume") {
      const volume = this.volumes.get(name);
      return volume !== undefined && counts.has(volume.claim);
    }
    const wanted = key(type, namespace, name);
    if (counts.has(wanted)) return true;
    if (type !== "secret") return false;
    for (const volume of this.volumes.values()) {
      if (volume.secrets.includes(wanted) && counts.has(volume.claim)) return true;
    }
    return false;
  }

  /** The node a pod is bound to, if the graph knows it. */
  nodeOfPod(namespace: string, name: string): string | undefined {
    return this.pods.get(key("pod", namespace, name))?.node;
  }
}
