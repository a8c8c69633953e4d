import { describe, expect, it } from "vitest";
import { toCoreEvent, toEventsV1 } from "./events-conversion.js";
import type { CoreEvent, EventsV1Event } from "./types/index.js";

const core: CoreEvent = {
  apiVersion: "v1",
  kind: "Event",
  metadata: { name: "web.17a", namespace: "default", uid: "u1", resourceVersion: "9" },
  involvedObject: { kind: "Pod", namespace: "default", name: "web", uid: "p1", apiVersion: "v1", fieldPath: "spec.containers{app}" },
  reason: "Pulled",
  message: "Successfully pulled image",
  source: { component: "kubelet", host: "node-1" },
  firstTimestamp: "2024-05-01T10:00:00Z",
  lastTimestamp: "2024-05-01T10:05:00Z",
  count: 3,
  type: "Normal",
  eventTime: "2024-05-01T10:00:00.000000Z",
  series: { count: 3, lastObservedTime: "2024-05-01T10:05:00.000000Z" },
  action: "Pulling",
  related: { kind: "Node", name: "node-1" },
  reportingComponent: "kubelet",
  reportingInstance: "node-1",
};

const v1: EventsV1Event = {
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  metadata: { name: "web.17a", namespace: "default", uid: "u1", resourceVersion: "9" },
  regarding: { kind: "Pod", namespace: "default", name: "web", uid: "p1", apiVersion: "v1", fieldPath: "spec.containers{app}" },
  reason: "Pulled",
  note: "Successfully pulled image",
  deprecatedSource: { component: "kubelet", host: "node-1" },
  deprecatedFirstTimestamp: "2024-05-01T10:00:00Z",
  deprecatedLastTimestamp: "2024-05-01T10:05:00Z",
  deprecatedCount: 3,
  type: "Normal",
  eventTime: "2024-05-01T10:00:00.000000Z",
  series: { count: 3, lastObservedTime: "2024-05-01T10:05:00.000000Z" },
  action: "Pulling",
  related: { kind: "Node", name: "node-1" },
  reportingController: "kubelet",
  reportingInstance: "node-1",
};

describe("event conversion", () => {
  it("renames every core/v1 field to its events.k8s.io/v1 name", () => {
    expect(toEventsV1(core)).toEqual(v1);
  });

  it("renames every events.k8s.io/v1 field back to its core/v1 name", () => {
    expect(toCoreEvent(v1)).toEqual(core);
  });

  it.each([
    ["core → v1 → core", () => toCoreEvent(toEventsV1(core)), core],
    ["v1 → core → v1", () => toEventsV1(toCoreEvent(v1)), v1],
  ])("round-trips %s", (_what, convert, expected) => {
    expect(convert()).toEqual(expected);
  });

  it("leaves absent fields absent", () => {
    const minimal: CoreEvent = { apiVersion: "v1", kind: "Event", metadata: { name: "e" }, involvedObject: { kind: "Node", name: "n1" }, reason: "NodeReady" };
    expect(toEventsV1(minimal)).toEqual({ apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { name: "e" }, regarding: { kind: "Node", name: "n1" }, reason: "NodeReady" });
  });

  it("gives a core event an empty involvedObject when the events.k8s.io event regards nothing", () => {
    expect(toCoreEvent({ metadata: { name: "e" } })).toEqual({ apiVersion: "v1", kind: "Event", metadata: { name: "e" }, involvedObject: {} });
  });

  it("does not share or modify its input", () => {
    const input = structuredClone(core);
    const out = toEventsV1(input);
    (out.regarding as { name?: string }).name = "changed";
    expect(input).toEqual(core);
  });
});
