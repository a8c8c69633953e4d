import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../api/types/index.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { PersistentVolumeBinder, PVCS, PVS, SELECTED_NODE, STORAGE_CLASSES } from "./persistentvolume-binder.js";

function pv(name: string, storage: string, extra: Partial<NonNullable<PersistentVolume["spec"]>> = {}, labels?: Record<string, string>): PersistentVolume {
  return { apiVersion: "v1", kind: "PersistentVolume", metadata: { name, ...(labels ? { labels } : {}) }, spec: { capacity: { storage }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/tmp/${name}` }, ...extra } };
}

function pvc(name: string, storage: string, extra: Partial<NonNullable<PersistentVolumeClaim["spec"]>> = {}): PersistentVolumeClaim {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "ns", uid: `uid-${name}` }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, ...extra } };
}

function localPath(name: string, mode: "Immediate" | "WaitForFirstConsumer"): StorageClass {
  return { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name }, provisioner: "kubelab.dev/local-path", volumeBindingMode: mode, reclaimPolicy: "Delete" };
}

function setup(objects: KubeObject[]) {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const binder = new PersistentVolumeBinder({ client: fake, volumes: fake.informer(PVS), claims: fake.informer(PVCS), classes: fake.informer(STORAGE_CLASSES) });
  return {
    fake,
    drain: () => drainQueue(binder.queue, (key) => binder.sync(key)),
    claim: (name: string) => fake.object<PersistentVolumeClaim>(PVCS, "ns", name),
    volume: (name: string) => fake.object<PersistentVolume>(PVS, undefined, name),
  };
}

describe("PersistentVolumeBinder", () => {
  it("binds a claim to the smallest volume of its class, access modes and selector that covers the request", async () => {
    const { drain, claim, volume } = setup([
      pv("big", "10Gi"),
      pv("small", "1Gi"),
      pv("fits", "2Gi"),
      pv("other-class", "2Gi", { storageClassName: "fast" }),
      pv("rwx", "2Gi", { accessModes: ["ReadWriteMany"] }),
      pv("labelled", "5Gi", {}, { tier: "gold" }),
      pvc("data", "2Gi"),
      pvc("gold", "1Gi", { selector: { matchLabels: { tier: "gold" } } }),
    ]);
    await drain();
    expect(claim("data")?.spec?.volumeName).toBe("fits");
    expect(claim("data")?.status).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "2Gi" } });
    expect(claim("data")?.metadata.annotations?.["pv.kubernetes.io/bind-completed"]).toBe("yes");
    expect(volume("fits")?.spec?.claimRef).toMatchObject({ kind: "PersistentVolumeClaim", namespace: "ns", name: "data", uid: "uid-data" });
    expect(volume("fits")?.status?.phase).toBe("Bound");
    expect(claim("gold")?.spec?.volumeName).toBe("labelled");
    expect(volume("big")?.status?.phase).toBe("Available");
  });

  it("leaves a claim Pending without a match, then binds it when a volume appears", async () => {
    const { fake, drain, claim } = setup([pvc("data", "5Gi")]);
    await drain();
    expect(claim("data")?.spec?.volumeName).toBeUndefined();
    fake.seed(pv("late", "5Gi"));
    await drain();
    expect(claim("data")?.spec?.volumeName).toBe("late");
  });

  it("releases a volume whose claim is deleted: Retain keeps it, Delete removes it", async () => {
    const { fake, drain, volume } = setup([pv("kept", "1Gi"), pv("gone", "1Gi", { persistentVolumeReclaimPolicy: "Delete", storageClassName: "x" }), pvc("a", "1Gi"), pvc("b", "1Gi", { storageClassName: "x" })]);
    await drain();
    expect([volume("kept")?.status?.phase, volume("gone")?.status?.phase]).toEqual(["Bound", "Bound"]);
    fake.remove(PVCS, "ns", "a");
    fake.remove(PVCS, "ns", "b");
    await drain();
    expect(volume("kept")?.status?.phase).toBe("Released");
    expect(volume("gone")).toBeUndefined();
  });

  it("provisions a local-path volume for a class with that provisioner: at once, or for the node the scheduler selected", async () => {
    const { fake, drain, claim, volume } = setup([localPath("standard", "Immediate"), localPath("wait", "WaitForFirstConsumer"), pvc("now", "1Gi", { storageClassName: "standard" }), pvc("late", "2Gi", { storageClassName: "wait" }), pv("static-wait", "5Gi", { storageClassName: "wait" })]);
    await drain();
    expect(claim("now")?.spec?.volumeName).toBe("pvc-uid-now");
    expect(volume("pvc-uid-now")?.spec).toMatchObject({ capacity: { storage: "1Gi" }, persistentVolumeReclaimPolicy: "Delete", storageClassName: "standard", hostPath: { path: "/var/lib/kubelab/local-path/pvc-uid-now_ns_now", type: "DirectoryOrCreate" } });
    expect(volume("pvc-uid-now")?.spec?.nodeAffinity).toBeUndefined();
    // WaitForFirstConsumer: neither the static volume of its class nor a provisioned one until a node is selected.
    expect(claim("late")?.spec?.volumeName).toBeUndefined();
    expect(volume("static-wait")?.spec?.claimRef).toBeUndefined();
    expect(volume("pvc-uid-late")).toBeUndefined();
    const late = claim("late")!;
    fake.seed({ ...late, metadata: { ...late.metadata, annotations: { [SELECTED_NODE]: "node-2" } } });
    await drain();
    expect(claim("late")?.spec?.volumeName).toBe("pvc-uid-late");
    expect(volume("pvc-uid-late")?.spec?.nodeAffinity).toEqual({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["node-2"] }] }] } });
    expect(volume("static-wait")?.spec?.claimRef).toBeUndefined();
  });

  it("completes a WaitForFirstConsumer claim whose static volume the scheduler pre-bound", async () => {
    const { fake, drain, claim, volume } = setup([localPath("wait", "WaitForFirstConsumer"), pvc("data", "1Gi", { storageClassName: "wait" }), pv("small", "1Gi", { storageClassName: "wait" }), pv("chosen", "3Gi", { storageClassName: "wait" })]);
    await drain();
    expect(claim("data")?.spec?.volumeName).toBeUndefined();
    const chosen = volume("chosen")!;
    fake.seed({ ...chosen, spec: { ...chosen.spec, claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: "ns", name: "data", uid: "uid-data" } } });
    await drain();
    expect(claim("data")?.spec?.volumeName).toBe("chosen");
    expect(claim("data")?.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(claim("data")?.status?.phase).toBe("Bound");
    expect(volume("chosen")?.status?.phase).toBe("Bound");
    expect(volume("small")?.spec?.claimRef).toBeUndefined();
  });
});
