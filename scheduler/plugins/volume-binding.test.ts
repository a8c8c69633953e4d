import { describe, expect, it } from "vitest";
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "../../api/types/index.js";
import { CycleState, type VolumeStore } from "../framework/interface.js";
import { nodeInfoOf, testHandle } from "../framework/testing.js";
import { eventMayHelp } from "../queueing-hints.js";
import { create, ERR_BIND_CONFLICT, ERR_NODE_CONFLICT, ERR_UNBOUND_IMMEDIATE, parseArgs, type VolumeBinding } from "./volume-binding.js";

const node = (name: string, labels: Record<string, string> = {}): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } } });
const nodes = [nodeInfoOf(node("node-1", { zone: "a" })), nodeInfoOf(node("node-2", { zone: "b" }))];

const onNode = (n: string): Record<string, unknown> => ({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [n] }] }] } });

function pv(name: string, extra: Partial<NonNullable<PersistentVolume["spec"]>> = {}): PersistentVolume {
  return { apiVersion: "v1", kind: "PersistentVolume", metadata: { name }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "wait", hostPath: { path: `/tmp/${name}` }, ...extra }, status: { phase: "Available" } };
}

function pvc(name: string, extra: Partial<NonNullable<PersistentVolumeClaim["spec"]>> = {}, annotations?: Record<string, string>): PersistentVolumeClaim {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "ns", uid: `uid-${name}`, ...(annotations ? { annotations } : {}) }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "wait", ...extra } };
}

function sc(name: string, mode: "Immediate" | "WaitForFirstConsumer", provisioner = "kubelab.dev/local-path", extra: Partial<StorageClass> = {}): StorageClass {
  return { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name }, provisioner, volumeBindingMode: mode, ...extra };
}

function pod(name: string, ...claims: string[]): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: `uid-${name}` }, spec: { containers: [{ name: "c" }], volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) } };
}

/** A store over plain arrays; writes replace the object and are recorded. */
function fakeStore(objects: { claims?: PersistentVolumeClaim[]; volumes?: PersistentVolume[]; classes?: StorageClass[] }) {
  const claims = objects.claims ?? [];
  const volumes = objects.volumes ?? [];
  const classes = objects.classes ?? [];
  const writes: string[] = [];
  const store: VolumeStore = {
    claim: (ns, name) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    volume: (name) => volumes.find((v) => v.metadata.name === name),
    volumes: () => volumes,
    storageClass: (name) => classes.find((c) => c.metadata.name === name),
    updateVolume: (v) => {
      volumes.splice(volumes.findIndex((x) => x.metadata.name === v.metadata.name), 1, v);
      writes.push(`pv/${v.metadata.name ?? ""}`);
      return Promise.resolve(v);
    },
    updateClaim: (c) => {
      claims.splice(claims.findIndex((x) => x.metadata.name === c.metadata.name), 1, c);
      writes.push(`pvc/${c.metadata.name ?? ""}`);
      return Promise.resolve(c);
    },
  };
  return { store, claims, volumes, writes };
}

function plugin(store: VolumeStore, args?: unknown): VolumeBinding {
  return create(args, { ...testHandle, volumes: store });
}

/** PreFilter, then Filter on each node: the status per node name (or PreFilter's, under "prefilter"). */
function filterAll(p: VolumeBinding, state: CycleState, target: Pod): Record<string, string> {
  const pre = p.preFilter(state, target);
  if (!pre.isSuccess()) return { prefilter: `${pre.code}: ${pre.message()}` };
  const out: Record<string, string> = {};
  for (const n of nodes) {
    const s = p.filter(state, target, n);
    out[n.name] = s.isSuccess() ? "Success" : `${s.code}: ${s.message()}`;
  }
  return out;
}

describe("VolumeBinding", () => {
  it("skips pods without claims", () => {
    const { store } = fakeStore({});
    expect(plugin(store).preFilter(new CycleState(), pod("p")).code).toBe("Skip");
  });

  it("rejects in PreFilter a missing claim, an unbound Immediate claim, and errs on a missing class", () => {
    const { store } = fakeStore({ claims: [pvc("now", { storageClassName: "fast" }), pvc("noclass", { storageClassName: "" }), pvc("lost", { storageClassName: "gone" })], classes: [sc("fast", "Immediate")] });
    const p = plugin(store);
    expect(filterAll(p, new CycleState(), pod("p", "missing"))).toEqual({ prefilter: 'UnschedulableAndUnresolvable: persistentvolumeclaim "missing" not found' });
    expect(filterAll(p, new CycleState(), pod("p", "now"))).toEqual({ prefilter: `UnschedulableAndUnresolvable: ${ERR_UNBOUND_IMMEDIATE}` });
    expect(filterAll(p, new CycleState(), pod("p", "noclass"))).toEqual({ prefilter: `UnschedulableAndUnresolvable: ${ERR_UNBOUND_IMMEDIATE}` });
    expect(filterAll(p, new CycleState(), pod("p", "lost"))).toEqual({ prefilter: 'Error: storageclass.storage.k8s.io "gone" not found' });
  });

  it("keeps a pod whose claim is bound to a node-affine volume off the other nodes", () => {
    const { store } = fakeStore({ claims: [pvc("data", { volumeName: "local-2" })], volumes: [pv("local-2", { nodeAffinity: onNode("node-2"), claimRef: { namespace: "ns", name: "data", uid: "uid-data" } })], classes: [sc("wait", "WaitForFirstConsumer")] });
    expect(filterAll(plugin(store), new CycleState(), pod("p", "data"))).toEqual({ "node-1": `UnschedulableAndUnresolvable: ${ERR_NODE_CONFLICT}`, "node-2": "Success" });
  });

  it("finds a static volume or a provisioner for a WaitForFirstConsumer claim, per node", () => {
    const volumes = [pv("local-2", { nodeAffinity: onNode("node-2") })];
    const classes = [sc("wait", "WaitForFirstConsumer"), sc("static", "WaitForFirstConsumer", "kubernetes.io/no-provisioner"), sc("zone-b", "WaitForFirstConsumer", "kubelab.dev/local-path", { allowedTopologies: [{ matchLabelExpressions: [{ key: "zone", values: ["b"] }] }] })];
    const { store } = fakeStore({ claims: [pvc("data"), pvc("only-static", { storageClassName: "static" }), pvc("in-b", { storageClassName: "zone-b" }), pvc("elsewhere", {}, { "volume.kubernetes.io/selected-node": "node-1" })], volumes, classes });
    const p = plugin(store);
    // node-2 has the static volume; node-1 can have one provisioned.
    expect(filterAll(p, new CycleState(), pod("p", "data"))).toEqual({ "node-1": "Success", "node-2": "Success" });
    expect(filterAll(p, new CycleState(), pod("p", "only-static"))).toEqual({ "node-1": `UnschedulableAndUnresolvable: ${ERR_BIND_CONFLICT}`, "node-2": `UnschedulableAndUnresolvable: ${ERR_BIND_CONFLICT}` });
    expect(filterAll(p, new CycleState(), pod("p", "in-b"))).toEqual({ "node-1": `UnschedulableAndUnresolvable: ${ERR_BIND_CONFLICT}`, "node-2": "Success" });
    expect(filterAll(p, new CycleState(), pod("p", "elsewhere"))).toEqual({ "node-1": "Success", "node-2": `UnschedulableAndUnresolvable: ${ERR_BIND_CONFLICT}` });
  });

  it("gives a reserved static volume to no other claim until it is unreserved", () => {
    const { store } = fakeStore({ claims: [pvc("a", { storageClassName: "static" }), pvc("b", { storageClassName: "static" })], volumes: [pv("only", { storageClassName: "static" })], classes: [sc("static", "WaitForFirstConsumer", "kubernetes.io/no-provisioner")] });
    const p = plugin(store);
    const first = new CycleState();
    expect(filterAll(p, first, pod("pa", "a"))["node-1"]).toBe("Success");
    expect(p.reserve(first, pod("pa", "a"), "node-1").isSuccess()).toBe(true);
    expect(filterAll(p, new CycleState(), pod("pb", "b"))["node-1"]).toBe(`UnschedulableAndUnresolvable: ${ERR_BIND_CONFLICT}`);
    p.unreserve(first, pod("pa", "a"), "node-1");
    expect(filterAll(p, new CycleState(), pod("pb", "b"))["node-1"]).toBe("Success");
  });

  it("PreBind writes the static volume's claimRef and waits until the claim is bound", async () => {
    const { store, claims, volumes, writes } = fakeStore({ claims: [pvc("data")], volumes: [pv("local-2", { nodeAffinity: onNode("node-2") })], classes: [sc("wait", "WaitForFirstConsumer")] });
    const p = plugin(store, { bindTimeoutSeconds: 10 });
    const state = new CycleState();
    const target = pod("p", "data");
    expect(filterAll(p, state, target)["node-2"]).toBe("Success");
    expect(p.reserve(state, target, "node-2").isSuccess()).toBe(true);
    const done = p.preBind(state, target, "node-2");
    await Promise.resolve();
    expect(writes).toEqual(["pv/local-2"]);
    expect(volumes[0]?.spec?.claimRef).toMatchObject({ kind: "PersistentVolumeClaim", namespace: "ns", name: "data", uid: "uid-data" });
    expect(volumes[0]?.metadata.annotations?.["pv.kubernetes.io/bound-by-controller"]).toBe("yes");
    // The persistentvolume-binder completes the claim's side.
    claims[0] = { ...claims[0]!, metadata: { ...claims[0]!.metadata, annotations: { "pv.kubernetes.io/bind-completed": "yes" } }, spec: { ...claims[0]!.spec, volumeName: "local-2" } };
    expect((await done).code).toBe("Success");
  });

  it("PreBind selects the node for a claim to provision; a volume for another node is an error", async () => {
    const { store, claims, volumes, writes } = fakeStore({ claims: [pvc("data")], classes: [sc("wait", "WaitForFirstConsumer")] });
    const p = plugin(store, { bindTimeoutSeconds: 10 });
    const state = new CycleState();
    const target = pod("p", "data");
    expect(filterAll(p, state, target)).toEqual({ "node-1": "Success", "node-2": "Success" });
    const done = p.preBind(state, target, "node-1");
    await Promise.resolve();
    expect(writes).toEqual(["pvc/data"]);
    expect(claims[0]?.metadata.annotations?.["volume.kubernetes.io/selected-node"]).toBe("node-1");
    volumes.push(pv("pvc-uid-data", { nodeAffinity: onNode("node-2"), claimRef: { namespace: "ns", name: "data", uid: "uid-data" } }));
    claims[0] = { ...claims[0]!, metadata: { ...claims[0]!.metadata, annotations: { ...claims[0]!.metadata.annotations, "pv.kubernetes.io/bind-completed": "yes" } }, spec: { ...claims[0]!.spec, volumeName: "pvc-uid-data" } };
    const s = await done;
    expect(s.code).toBe("Error");
    expect(s.message()).toBe('binding volumes: pv "pvc-uid-data" node affinity doesn\'t match node "node-1"');
  });

  it("PreBind gives up after bindTimeoutSeconds", async () => {
    const { store } = fakeStore({ claims: [pvc("data")], classes: [sc("wait", "WaitForFirstConsumer")] });
    const p = plugin(store, { bindTimeoutSeconds: 0 });
    const state = new CycleState();
    const target = pod("p", "data");
    filterAll(p, state, target);
    const s = await p.preBind(state, target, "node-2");
    expect([s.code, s.message()]).toEqual(["Error", "binding volumes: context deadline exceeded"]);
  });

  it("reads bindTimeoutSeconds from the args (600 by default) and rejects bad values", () => {
    expect(parseArgs(undefined)).toEqual({ bindTimeoutSeconds: 600 });
    expect(parseArgs({ bindTimeoutSeconds: 30 })).toEqual({ bindTimeoutSeconds: 30 });
    expect(() => parseArgs({ bindTimeoutSeconds: -1 })).toThrow("bindTimeoutSeconds");
  });

  it("wakes the pods it rejected on claim, volume, class, CSINode and node changes only", () => {
    const rejected = new Set(["VolumeBinding"]);
    for (const e of ["PvcAdd", "PvcUpdate", "PvAdd", "PvUpdate", "StorageClassAdd", "StorageClassUpdate", "CSINodeAdd", "CSINodeUpdate", "NodeAdd", "NodeLabelChange"]) expect(eventMayHelp(e, rejected)).toBe(true);
    for (const e of ["AssignedPodAdd", "AssignedPodDelete", "NodeTaintChange"]) expect(eventMayHelp(e, rejected)).toBe(false);
  });
});
