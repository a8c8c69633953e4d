import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import { newDeployment, newPod, newReplicaSet } from "../../../api/testing/builders.js";
import { formatTime } from "../../../api/time.js";
import type { Deployment, Pod, PodDisruptionBudget, ReplicaSet, ReplicationController, StatefulSet } from "../../../api/types/index.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { DELETION_TIMEOUT_MS, DEPLOYMENTS, DisruptionController, PDBS, PODS, REPLICASETS, REPLICATIONCONTROLLERS, scaled, STATEFULSETS } from "./disruption-controller.js";

function pdb(name: string, spec: PodDisruptionBudget["spec"], status?: PodDisruptionBudget["status"]): PodDisruptionBudget {
  const out: PodDisruptionBudget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: "default", generation: 1 }, spec: { selector: { matchLabels: { app: "web" } }, ...spec } };
  if (status) out.status = status;
  return out;
}

const ready = (name: string, meta: KubeObject["metadata"] = {}): Pod => newPod(name, { labels: { app: "web" }, ready: true, meta });

function setup(...objects: KubeObject[]): { fake: FakeClient; clock: FakeClock; controller: DisruptionController; status: () => PodDisruptionBudget["status"] } {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock, objects });
  const controller = new DisruptionController({
    client: fake,
    pdbs: fake.informer<PodDisruptionBudget>(PDBS),
    pods: fake.informer<Pod>(PODS),
    replicaSets: fake.informer<ReplicaSet>(REPLICASETS),
    deployments: fake.informer<Deployment>(DEPLOYMENTS),
    statefulSets: fake.informer<StatefulSet>(STATEFULSETS),
    replicationControllers: fake.informer<ReplicationController>(REPLICATIONCONTROLLERS),
    clock,
  });
  return { fake, clock, controller, status: () => fake.object<PodDisruptionBudget>(PDBS, "default", "budget")?.status };
}

describe("DisruptionController", () => {
  it("counts ready selected pods against an integer minAvailable and allows the difference", async () => {
    const { controller, status } = setup(pdb("budget", { minAvailable: 2 }), ready("a"), ready("b"), ready("c"), newPod("unready", { labels: { app: "web" }, phase: "Running" }), ready("other", { labels: { app: "other" } }));
    await controller.sync("default/budget");
    expect(status()).toMatchObject({ observedGeneration: 1, expectedPods: 4, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
    expect(status()?.conditions).toEqual([expect.objectContaining({ type: "DisruptionAllowed", status: "True", reason: "SufficientPods" })]);
  });

  it("allows no disruption when the budget is exactly met, with the InsufficientPods condition", async () => {
    const { controller, status } = setup(pdb("budget", { minAvailable: 1 }), ready("a"));
    await controller.sync("default/budget");
    expect(status()).toMatchObject({ currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, disruptionsAllowed: 0 });
    expect(status()?.conditions?.[0]).toMatchObject({ status: "False", reason: "InsufficientPods" });
  });

  it("takes expectedPods from the Deployment behind the pods' ReplicaSet for maxUnavailable", async () => {
    const deployment = newDeployment("web", { replicas: 4, meta: { uid: "d-1" } });
    const rs = newReplicaSet("web-1", { replicas: 4, meta: { uid: "rs-1", ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-1", controller: true }] } });
    const owned = (name: string): Pod => ready(name, { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "rs-1", controller: true }] });
    const { controller, status } = setup(pdb("budget", { maxUnavailable: "25%" }), deployment, rs, owned("a"), owned("b"), owned("c"));
    await controller.sync("default/budget");
    expect(status()).toMatchObject({ expectedPods: 4, desiredHealthy: 3, currentHealthy: 3, disruptionsAllowed: 0 });
  });

  it("fails to sync a percentage budget over pods without a controller", async () => {
    const { controller, status } = setup(pdb("budget", { minAvailable: "50%" }), ready("a"));
    await controller.sync("default/budget");
    expect(status()?.disruptionsAllowed).toBe(0);
    expect(status()?.conditions?.[0]).toMatchObject({ status: "False", reason: "SyncFailed", message: `found no controllers for pod "a"` });
  });

  it("keeps recent evictions out of currentHealthy, drops stale ones, and looks again when they time out", async () => {
    const clock0 = new FakeClock().now();
    const recent = formatTime(clock0 - 1000);
    const stale = formatTime(clock0 - DELETION_TIMEOUT_MS - 1000);
    const { controller, status, clock } = setup(pdb("budget", { minAvailable: 1 }, { disruptedPods: { a: recent, b: stale, gone: recent } }), ready("a"), ready("b"), ready("c"));
    await controller.sync("default/budget");
    expect(status()).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1, disruptedPods: { a: recent } });
    await clock.advance(DELETION_TIMEOUT_MS);
    expect(await drainQueue(controller.queue, (key) => controller.sync(key))).toContain("default/budget");
    expect(status()?.currentHealthy).toBe(3);
    expect(status()?.disruptedPods).toBeUndefined();
  });

  it("writes nothing when the status is already right", async () => {
    const { fake, controller } = setup(pdb("budget", { minAvailable: 1 }), ready("a"), ready("b"));
    await controller.sync("default/budget");
    fake.clearActions();
    await controller.sync("default/budget");
    expect(fake.writes()).toEqual([]);
  });

  it("enqueues the budgets that select a pod when the pod changes", async () => {
    const { fake, controller } = setup(pdb("budget", { minAvailable: 1 }), ready("a"));
    await drainQueue(controller.queue, (key) => controller.sync(key));
    const pod = fake.object<Pod>(PODS, "default", "a")!;
    pod.status!.conditions = [{ type: "Ready", status: "False" }];
    fake.seed(pod);
    expect(await drainQueue(controller.queue, (key) => controller.sync(key))).toContain("default/budget");
    expect(fake.object<PodDisruptionBudget>(PDBS, "default", "budget")?.status?.currentHealthy).toBe(0);
  });

  it.each([
    [2, 10, 2],
    ["25%", 10, 3],
    ["100%", 3, 3],
    ["0%", 3, 0],
  ] as const)("scales %s of %i to %i, rounding up", (value, total, expected) => {
    expect(scaled(value, total)).toBe(expected);
  });
});
