import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import { newDeployment } from "../../../api/testing/builders.js";
import type { Deployment, ReplicationController } from "../../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import type { ResourceStore } from "../store.js";
import { getScale, scaleOf, updateScale } from "./scale.js";

let m: MemoryRegistry;
let deployments: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  deployments = m.registry.store("apps", "v1", "deployments")!;
});

describe("scale", () => {
  beforeEach(async () => {
    const created = await deployments.create("default", newDeployment("web", { replicas: 2 }));
    await deployments.update("default", "web", { ...created, status: { replicas: 2, readyReplicas: 2 } }, { subresource: "status" });
  });

  it("reads a Scale with spec and status replicas and the selector as a string", async () => {
    const scale = await getScale(deployments, "default", "web");
    const stored = await deployments.get("default", "web");
    expect(scale).toEqual({
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "web", namespace: "default", uid: stored.metadata.uid, resourceVersion: stored.metadata.resourceVersion, creationTimestamp: stored.metadata.creationTimestamp },
      spec: { replicas: 2 },
      status: { replicas: 2, selector: "app=web" },
    });
  });

  it("renders a matchExpressions selector in label-selector syntax", () => {
    const d = newDeployment("web");
    d.spec!.selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] };
    expect(scaleOf(d).status.selector).toBe("app=web,tier in (a,b)");
  });

  it("renders a ReplicationController's plain selector map", async () => {
    const rcs = m.registry.core("replicationcontrollers");
    const rc: ReplicationController = {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "web", namespace: "default" },
      spec: { replicas: 1, selector: { app: "web" }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "nginx" }] } } },
    };
    await rcs.create("default", rc);
    expect((await getScale(rcs, "default", "web")).status.selector).toBe("app=web");
  });

  it("writes spec.replicas from a Scale update and bumps the generation", async () => {
    const scale = await updateScale(deployments, "default", "web", { body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web" }, spec: { replicas: 5 } } }, false);
    expect(scale.spec.replicas).toBe(5);
    const stored = (await deployments.get("default", "web")) as Deployment;
    expect(stored.spec?.replicas).toBe(5);
    expect(stored.metadata.generation).toBe(2);
    expect(stored.status).toEqual({ replicas: 2, readyReplicas: 2 });
    expect(scale.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
  });

  it.each([
    ["merge", "application/merge-patch+json", { spec: { replicas: 4 } }],
    ["strategic", "application/strategic-merge-patch+json", { spec: { replicas: 4 } }],
    ["json", "application/json-patch+json", [{ op: "replace", path: "/spec/replicas", value: 4 }]],
  ])("writes spec.replicas from a %s patch of the Scale", async (_what, contentType, patch) => {
    const scale = await updateScale(deployments, "default", "web", { patch, contentType }, false);
    expect(scale.spec.replicas).toBe(4);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(4);
  });

  it("answers 409 for a Scale update with a stale resourceVersion", async () => {
    const err = await rejection(updateScale(deployments, "default", "web", { body: { metadata: { name: "web", resourceVersion: "1" }, spec: { replicas: 5 } } }, false));
    expect(err.code).toBe(409);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(2);
  });

  it.each([
    ["an update", { body: { metadata: { name: "web" }, spec: { replicas: -1 } } }],
    ["a patch", { patch: { spec: { replicas: -1 } }, contentType: "application/merge-patch+json" }],
  ])("answers 422 for negative replicas in %s", async (_what, change) => {
    const err = await rejection(updateScale(deployments, "default", "web", change, false));
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.replicas", reason: "FieldValueInvalid" })]);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(2);
  });

  it("changes nothing on a dryRun Scale update but answers with the new replicas", async () => {
    const before: KubeObject = await deployments.get("default", "web");
    const scale = await updateScale(deployments, "default", "web", { body: { spec: { replicas: 9 } } }, true);
    expect(scale.spec.replicas).toBe(9);
    expect(await deployments.get("default", "web")).toEqual(before);
  });

  it("answers 404 for the Scale of a missing deployment", async () => {
    const err = await rejection(getScale(deployments, "default", "ghost"));
    expect(err.message).toBe('deployments/scale.apps "ghost" not found');
    expect(err.details).toMatchObject({ kind: "deployments/scale", group: "apps" });
  });
});
