import { describe, expect, it } from "vitest";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { StatefulSet, StatefulSetSpec } from "../../../api/types/apps.js";
import type { PersistentVolumeClaim } from "../../../api/types/core-claims.js";
import type { Pod } from "../../../api/types/core.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeInformer } from "../../../client/testing/fake-informer.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { CONTROLLER_REVISIONS, newRevision, REVISION_HASH_LABEL } from "../history/history.js";
import { claimsFor, newStatefulPod, ordinalOf } from "./stateful-pods.js";
import { STATEFULSETS, StatefulSetController } from "./statefulset-controller.js";

const PODS = findResource("", "v1", "pods")!;
const PVCS = findResource("", "v1", "persistentvolumeclaims")!;
const T0 = Date.UTC(2024, 0, 1);
const KEY = "default/web";
const KIND = { apiVersion: "apps/v1", kind: "StatefulSet", hashLabel: REVISION_HASH_LABEL, hashOf: "data" } as const;

function sts(spec: Partial<StatefulSetSpec> = {}, image = "nginx:1"): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default", uid: "sts-uid", generation: 1 },
    spec: {
      replicas: 3,
      serviceName: "web",
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
      volumeClaimTemplates: [{ metadata: { name: "www" }, spec: { accessModes: ["ReadWriteOnce"] } }],
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      ...spec,
    },
  };
}

function setup(set: StatefulSet, opts: { maxUnavailableStatefulSet?: boolean } = {}) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  const informer = new FakeInformer<StatefulSet>(STATEFULSETS);
  const podInformer = new FakeInformer<Pod>(PODS);
  const claimInformer = new FakeInformer<PersistentVolumeClaim>(PVCS);
  const revisionInformer = new FakeInformer<ControllerRevision>(CONTROLLER_REVISIONS);
  const recorder = new FakeRecorder();
  const controller = new StatefulSetController({ client, informer, podInformer, claimInformer, revisionInformer, recorder, clock, ...opts });
  informer.set(client.seed(set));
  /** Makes the cache show what the fake API now holds (a watch catching up), with pods Running/Ready as asked. */
  const catchUp = (ready = true): void => {
    for (const obj of client.tracker.list(PODS, "default") as Pod[]) {
      const copy = structuredClone(obj);
      copy.status = ready ? { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: formatTime(T0) }] } : { phase: "Pending" };
      podInformer.set(copy);
    }
    for (const p of podInformer.lister.list()) {
      if (!(client.tracker.list(PODS, "default") as Pod[]).some((o) => o.metadata.name === p.metadata.name)) podInformer.unset(p);
    }
    for (const obj of client.tracker.list(PVCS, "default") as PersistentVolumeClaim[]) claimInformer.set(obj);
    for (const obj of client.tracker.list(CONTROLLER_REVISIONS, "default") as ControllerRevision[]) revisionInformer.set(obj);
    const fresh = client.tracker.list(STATEFULSETS, "default")[0] as StatefulSet;
    informer.set(fresh);
  };
  const podNames = (): string[] => (client.tracker.list(PODS, "default") as Pod[]).map((p) => p.metadata.name ?? "").sort();
  const status = () => (client.tracker.list(STATEFULSETS, "default")[0] as StatefulSet).status;
  return { client, controller, recorder, catchUp, podNames, status, informer, podInformer, clock };
}

describe("stateful pods", () => {
  it("have stable names, hostname/subdomain, identity labels and their claims as volumes", () => {
    const set = sts();
    const rev = newRevision(set, KIND, set.spec?.template, 1, 0);
    const pod = newStatefulPod(set, rev, 2);
    expect(pod.metadata).toMatchObject({
      name: "web-2",
      namespace: "default",
      labels: { app: "web", "statefulset.kubernetes.io/pod-name": "web-2", "apps.kubernetes.io/pod-index": "2", "controller-revision-hash": rev.metadata.name },
    });
    expect(pod.spec).toMatchObject({ hostname: "web-2", subdomain: "web", volumes: [{ name: "www", persistentVolumeClaim: { claimName: "www-web-2" } }] });
    expect(ordinalOf(set, pod)).toBe(2);
    expect(ordinalOf(set, { ...pod, metadata: { name: "web-02" } })).toBeUndefined();
    expect(ordinalOf(set, { ...pod, metadata: { name: "webby-1" } })).toBeUndefined();
    expect(claimsFor(set, 0)[0]?.metadata).toEqual({ name: "www-web-0", namespace: "default", labels: { app: "web" } });
    const deleting = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" } });
    expect(claimsFor(deleting, 0)[0]?.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid", controller: false, blockOwnerDeletion: true }]);
  });
});

describe("StatefulSetController", () => {
  it("OrderedReady: creates the claim then the pod of one ordinal at a time, each after its predecessor is ready", async () => {
    const t = setup(sts());
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0"]);
    expect(t.client.created<PersistentVolumeClaim>("persistentvolumeclaims").map((c) => c.metadata.name)).toEqual(["www-web-0"]);
    t.catchUp(false);
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0"]);
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0", "web-1"]);
    t.catchUp(true);
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    expect(t.status()).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    expect(t.status()?.currentRevision).toBe(t.status()?.updateRevision);
    expect(t.recorder.events.map((e) => e.message)).toContain("create Pod web-1 in StatefulSet web successful");
  });

  it("Parallel: creates every pod at once", async () => {
    const t = setup(sts({ podManagementPolicy: "Parallel" }));
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0", "web-1", "web-2"]);
  });

  it("scales down from the highest ordinal, one at a time, keeping the claims", async () => {
    const t = setup(sts({ podManagementPolicy: "Parallel" }));
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { replicas: 1, podManagementPolicy: "OrderedReady" } });
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-2"]);
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-2", "web-1"]);
    expect(t.client.deleted("persistentvolumeclaims")).toEqual([]);
  });

  it("whenScaled Delete: the condemned pod becomes its claims' owner, by an update (the controller's role may not patch claims)", async () => {
    const t = setup(sts({ podManagementPolicy: "Parallel", persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Delete" } }));
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { replicas: 2 } });
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-2"]);
    const claim = t.client.tracker.get(PVCS, "default", "www-web-2") as PersistentVolumeClaim;
    expect(claim.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: "v1", kind: "Pod", name: "web-2" })]);
    expect((t.client.tracker.get(PVCS, "default", "www-web-1") as PersistentVolumeClaim).metadata.ownerReferences).toBeUndefined();
    expect(t.client.actionsFor("patch", "persistentvolumeclaims")).toEqual([]);
  });

  it("RollingUpdate: replaces pods of the old revision from the highest ordinal down to the partition", async () => {
    const t = setup(sts({ podManagementPolicy: "Parallel" }));
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.controller.sync(KEY);
    const first = t.status()?.updateRevision;
    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } }, updateStrategy: { rollingUpdate: { partition: 1 } } } });
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-2"]);
    expect(t.status()?.currentRevision).toBe(first);
    expect(t.status()?.updateRevision).not.toBe(first);
    t.catchUp(true);
    await t.controller.sync(KEY);
    const web2 = (t.client.tracker.list(PODS, "default") as Pod[]).find((p) => p.metadata.name === "web-2");
    expect(web2?.spec?.containers[0]?.image).toBe("nginx:2");
    t.catchUp(true);
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.controller.sync(KEY);
    // The partition keeps web-0 on the old revision.
    expect(t.client.deleted("pods")).toEqual(["web-2", "web-1"]);
    expect(t.status()).toMatchObject({ updatedReplicas: 2, currentReplicas: 1 });
  });

  it("MaxUnavailableStatefulSet: replaces up to maxUnavailable pods at once (int or percent), none while that many are unavailable", async () => {
    const roll = async (maxUnavailable: number | string, gate: boolean): Promise<string[][]> => {
      const t = setup(sts({ replicas: 5, podManagementPolicy: "Parallel", updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable } } }), { maxUnavailableStatefulSet: gate });
      await t.controller.sync(KEY);
      t.catchUp(true);
      await t.controller.sync(KEY);
      await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } });
      const waves: string[][] = [];
      for (let i = 0; i < 8; i++) {
        t.catchUp(true);
        const before = t.client.deleted("pods").length;
        await t.controller.sync(KEY);
        const wave = t.client.deleted("pods").slice(before);
        if (wave.length > 0) waves.push(wave);
        // The deleted pods come back unready: nothing more goes until they are ready.
        t.catchUp(false);
        await t.controller.sync(KEY);
        expect(t.client.deleted("pods").length).toBe(before + wave.length);
      }
      return waves;
    };
    expect(await roll(2, true)).toEqual([["web-4", "web-3"], ["web-2", "web-1"], ["web-0"]]);
    expect(await roll("40%", true)).toEqual([["web-4", "web-3"], ["web-2", "web-1"], ["web-0"]]);
    // 10% of 5 rounds down to 0, and at least one goes.
    expect(await roll("10%", true)).toEqual([["web-4"], ["web-3"], ["web-2"], ["web-1"], ["web-0"]]);
    // Without the gate the field is kept but unused, as in Kubernetes.
    expect(await roll(2, false)).toEqual([["web-4"], ["web-3"], ["web-2"], ["web-1"], ["web-0"]]);
  });

  it("MaxUnavailableStatefulSet with minReadySeconds: a replacement counts as unavailable until Ready that long; status availableReplicas agrees", async () => {
    const t = setup(sts({ replicas: 5, minReadySeconds: 10, podManagementPolicy: "Parallel", updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable: 2 } } }), { maxUnavailableStatefulSet: true });
    const readySince = new Map<string, number>();
    /** catchUp, then each pod Ready since the first time it was seen Ready (a recreated pod starts a new span). */
    const settle = (): void => {
      t.catchUp(true);
      for (const pod of t.podInformer.lister.list()) {
        const key = `${pod.metadata.name ?? ""}/${pod.metadata.uid ?? ""}`;
        if (!readySince.has(key)) readySince.set(key, t.clock.now());
        const copy = structuredClone(pod) as Pod;
        copy.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: formatTime(readySince.get(key)!) }] };
        t.podInformer.set(copy);
      }
    };
    await t.controller.sync(KEY);
    settle();
    await t.controller.sync(KEY);
    expect(t.status()).toMatchObject({ readyReplicas: 5, availableReplicas: 0 });
    await t.clock.advance(10_000);
    await t.controller.sync(KEY);
    expect(t.status()).toMatchObject({ readyReplicas: 5, availableReplicas: 5 });

    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } });
    settle();
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-4", "web-3"]);
    // The replacements are Ready at once, but not yet available: no further deletion for 10 s.
    settle();
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0", "web-1", "web-2", "web-3", "web-4"]);
    settle();
    await t.controller.sync(KEY);
    expect(t.status()).toMatchObject({ readyReplicas: 5, availableReplicas: 3 });
    await t.clock.advance(9_000);
    settle();
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-4", "web-3"]);
    await t.clock.advance(1_000);
    await t.controller.sync(KEY);
    expect(t.status()).toMatchObject({ availableReplicas: 5 });
    expect(t.client.deleted("pods")).toEqual(["web-4", "web-3", "web-2", "web-1"]);
  });

  it("MaxUnavailableStatefulSet: an unavailable pod below the partition takes a place in the budget too, as in Kubernetes", async () => {
    const t = setup(sts({ replicas: 5, podManagementPolicy: "Parallel", updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2, maxUnavailable: 2 } } }), { maxUnavailableStatefulSet: true });
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.controller.sync(KEY);
    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } });
    t.catchUp(true);
    const web0 = structuredClone(t.podInformer.lister.getByName("default", "web-0")!) as Pod;
    web0.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
    t.podInformer.set(web0);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-4"]);
  });

  it("OnDelete: never deletes for an update; a deleted pod comes back on the update revision", async () => {
    const t = setup(sts({ podManagementPolicy: "Parallel", updateStrategy: { type: "OnDelete" } }));
    await t.controller.sync(KEY);
    t.catchUp(true);
    await t.client.patch(STATEFULSETS, "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } });
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual([]);
    t.client.remove(PODS, "default", "web-1");
    t.catchUp(true);
    await t.controller.sync(KEY);
    const web1 = (t.client.tracker.list(PODS, "default") as Pod[]).find((p) => p.metadata.name === "web-1");
    expect(web1?.spec?.containers[0]?.image).toBe("nginx:2");
  });

  it("recreates a failed pod under the same name", async () => {
    const t = setup(sts({ replicas: 1 }));
    await t.controller.sync(KEY);
    t.catchUp(true);
    const failed = structuredClone(t.podInformer.lister.getByName("default", "web-0")!) as Pod;
    failed.status = { phase: "Failed" };
    t.podInformer.set(failed);
    await t.controller.sync(KEY);
    expect(t.client.deleted("pods")).toEqual(["web-0"]);
    expect(t.recorder.events.some((e) => e.reason === "RecreatingFailedPod")).toBe(true);
    t.catchUp(true);
    await t.controller.sync(KEY);
    expect(t.podNames()).toEqual(["web-0"]);
  });
});
