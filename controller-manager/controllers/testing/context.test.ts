import { describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../../../api/resources.js";
import { newReplicaSet } from "../../../api/testing/builders.js";
import type { Pod } from "../../../api/types/core.js";
import { createReplicaSetController } from "../replicaset/replicaset-controller.js";
import { newTestContext } from "./context.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;

describe("newTestContext", () => {
  it("runs a controller built by its factory against the fake client's list and watch", async () => {
    const { context, client, recorder } = newTestContext({ objects: [newReplicaSet("web", { replicas: 2 })] });
    const controller = createReplicaSetController(context);
    const abort = new AbortController();
    context.informers.start(abort.signal);
    const running = controller.run(abort.signal);
    await vi.waitFor(() => {
      expect(client.objects<Pod>(PODS)).toHaveLength(2);
      // The informer saw the pods (watch from the tracker), so the status counts them.
      expect(client.object(REPLICASETS, "default", "web")?.status).toMatchObject({ replicas: 2 });
    });
    expect(recorder("replicaset-controller").withReason("SuccessfulCreate")).toHaveLength(2);
    abort.abort();
    await running;
    await context.informers.shutdown();
  });

  it("records every call and lets reactors answer or fail them", async () => {
    const { client } = newTestContext();
    client.failNext("create", "pods", new Error("nope"));
    await expect(client.create<Pod>(PODS, "default", { metadata: { generateName: "p-" } })).rejects.toThrow("nope");
    const created = await client.create<Pod>(PODS, "default", { metadata: { generateName: "p-" } });
    expect(created.metadata.name).toMatch(/^p-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    await client.patch(PODS, "default", created.metadata.name ?? "", "merge", { metadata: { labels: { a: "b" } } });
    await expect(client.update(PODS, "default", { ...created, metadata: { ...created.metadata, resourceVersion: "1" } })).rejects.toMatchObject({ reason: "Conflict" });
    await client.delete(PODS, "default", created.metadata.name ?? "");
    await expect(client.get(PODS, "default", created.metadata.name ?? "")).rejects.toMatchObject({ reason: "NotFound" });
    expect(client.actions.map((a) => a.verb)).toEqual(["create", "create", "patch", "update", "delete", "get"]);
    expect(client.writes()).toHaveLength(5);
  });
});
