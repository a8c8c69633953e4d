import { beforeEach, describe, expect, it } from "vitest";
import { newPod } from "../../../api/testing/builders.js";
import type { Pod } from "../../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import { ensureSystemPriorityClasses } from "./scheduling.js";

let m: MemoryRegistry;

beforeEach(async () => {
  m = await memoryRegistry();
  await ensureSystemPriorityClasses((g, v, r) => m.registry.store(g, v, r));
});

const createPod = async (pod: Pod): Promise<Pod> => (await m.registry.core("pods").create("default", pod));
const withSpec = (name: string, spec: Partial<NonNullable<Pod["spec"]>>): Pod => {
  const pod = newPod(name);
  Object.assign(pod.spec!, spec);
  return pod;
};

describe("Priority and RuntimeClass admission", () => {
  it("creates the system PriorityClasses once", async () => {
    await ensureSystemPriorityClasses((g, v, r) => m.registry.store(g, v, r));
    const { items } = await m.registry.store("scheduling.k8s.io", "v1", "priorityclasses")!.list(undefined, {});
    expect(items.map((pc) => [pc.metadata.name, pc.value])).toEqual([
      ["system-cluster-critical", 2000000000],
      ["system-node-critical", 2000001000],
    ]);
  });

  it("refuses to delete a system PriorityClass or change its value, and deletes other classes", async () => {
    const classes = m.registry.store("scheduling.k8s.io", "v1", "priorityclasses")!;
    for (const name of ["system-cluster-critical", "system-node-critical"]) {
      expect(await rejection(classes.delete(undefined, name))).toMatchObject({
        code: 403,
        reason: "Forbidden",
        message: `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`,
        details: { name, group: "scheduling.k8s.io", kind: "priorityclasses" },
      });
    }
    const critical = await classes.get(undefined, "system-cluster-critical");
    const changed = await rejection(classes.update(undefined, "system-cluster-critical", { ...critical, value: 5 }));
    expect(changed.code).toBe(422);
    expect(changed.message).toContain('PriorityClass.scheduling.k8s.io "system-cluster-critical" is invalid: [value: Forbidden: may not be changed in an update.');
    const labelled = await classes.update(undefined, "system-cluster-critical", { ...critical, metadata: { ...critical.metadata, labels: { team: "a" } } });
    expect(labelled.object.metadata.labels).toEqual({ team: "a" });
    await classes.create(undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "batch" }, value: 10 });
    await classes.delete(undefined, "batch");
    expect(await rejection(classes.get(undefined, "batch"))).toMatchObject({ code: 404 });
  });

  it("resolves priorityClassName to a priority and refuses unknown classes or a conflicting priority", async () => {
    expect((await createPod(withSpec("critical", { priorityClassName: "system-node-critical" }))).spec).toMatchObject({ priority: 2000001000, preemptionPolicy: "PreemptLowerPriority" });
    expect((await createPod(newPod("plain"))).spec).toMatchObject({ priority: 0, preemptionPolicy: "PreemptLowerPriority" });
    const unknown = await rejection(createPod(withSpec("nope", { priorityClassName: "nope" })));
    expect(unknown).toMatchObject({ code: 403, message: `pods "nope" is forbidden: no PriorityClass with name nope was found` });
    const conflicting = await rejection(createPod(withSpec("sneaky", { priorityClassName: "system-node-critical", priority: 5 })));
    expect(conflicting.message).toBe(`pods "sneaky" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 2000001000 from the given PriorityClass name`);
  });

  it("gives pods without a class the global default class", async () => {
    await m.registry.store("scheduling.k8s.io", "v1", "priorityclasses")!.create(undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "normal" }, value: 100, globalDefault: true, preemptionPolicy: "Never" });
    expect((await createPod(newPod("p"))).spec).toMatchObject({ priorityClassName: "normal", priority: 100, preemptionPolicy: "Never" });
    const second = await rejection(m.registry.store("scheduling.k8s.io", "v1", "priorityclasses")!.create(undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "other" }, value: 1, globalDefault: true }));
    expect(second.message).toBe(`priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already marked as default. Only one default can exist`);
  });

  it("refuses an unknown RuntimeClass and adds a known one's overhead and scheduling", async () => {
    expect((await rejection(createPod(withSpec("kata", { runtimeClassName: "kata" })))).message).toBe(`pods "kata" is forbidden: pod rejected: RuntimeClass "kata" not found`);
    await m.registry.store("node.k8s.io", "v1", "runtimeclasses")!.create(undefined, {
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "gvisor" },
      handler: "runsc",
      overhead: { podFixed: { cpu: "250m" } },
      scheduling: { nodeSelector: { sandbox: "gvisor" }, tolerations: [{ key: "sandbox", operator: "Exists", effect: "NoSchedule" }] },
    });
    const pod = await createPod(withSpec("boxed", { runtimeClassName: "gvisor" }));
    expect(pod.spec).toMatchObject({ overhead: { cpu: "250m" }, nodeSelector: { sandbox: "gvisor" } });
    expect(pod.spec?.tolerations).toContainEqual({ key: "sandbox", operator: "Exists", effect: "NoSchedule" });
  });
});
