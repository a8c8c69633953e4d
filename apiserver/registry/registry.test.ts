import { describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { definitionFor } from "./kinds.js";
import { memoryRegistry } from "./testing/memory-storage.js";

describe("Registry", () => {
  it("has a kind module for every served resource", () => {
    const missing = RESOURCES.filter((info) => definitionFor(info.group, info.resource, info.version) === undefined).map((info) => `${info.resource}.${info.group}`);
    expect(missing).toEqual([]);
  });

  it("serves events.k8s.io events from the core events store, converted", async () => {
    const { registry } = await memoryRegistry();
    const served = registry.served("events.k8s.io", "v1", "events");
    expect(served?.store).toBe(registry.core("events"));
    expect(served?.converted).toBe(true);
    const stored = { apiVersion: "v1", kind: "Event", metadata: { name: "e", namespace: "default" }, involvedObject: { kind: "Pod", name: "p" }, message: "hello" };
    expect(served?.toApi(stored)).toMatchObject({ apiVersion: "events.k8s.io/v1", kind: "Event", regarding: { kind: "Pod", name: "p" }, note: "hello" });
  });

  it("gives each resource its module's subresources", async () => {
    const { registry } = await memoryRegistry();
    expect(Object.keys(registry.served("", "v1", "pods")?.subresources ?? {}).sort()).toEqual(["binding", "eviction"]);
    expect(Object.keys(registry.served("apps", "v1", "deployments")?.subresources ?? {})).toEqual(["scale"]);
    expect(Object.keys(registry.served("apps", "v1", "daemonsets")?.subresources ?? {})).toEqual([]);
    expect(registry.served("", "v1", "pods")?.converted).toBe(false);
    expect(registry.served("", "v1", "widgets")).toBeUndefined();
  });
});
