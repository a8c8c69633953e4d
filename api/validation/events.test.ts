import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import type { CoreEvent } from "../types/index.js";
import { problems } from "./testing.js";

describe("events", () => {
  it("requires an event's namespace to match its object's", () => {
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "other" },
    };
    expect(problems(event)).toEqual(['involvedObject.namespace: Invalid value: "other": does not match event.namespace']);
  });

  it("accepts node events recorded in the default namespace", () => {
    const event: CoreEvent = { apiVersion: "v1", kind: "Event", metadata: { name: "n1.1", namespace: "default" }, involvedObject: { kind: "Node", name: "n1" } };
    expect(problems(event)).toEqual([]);
  });

  it("requires reporter, action and reason on new-style events", () => {
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "default" },
      eventTime: "2024-05-01T10:00:00.000000Z",
    };
    expect(problems(event)).toEqual(["reportingComponent: Required value", "reportingInstance: Required value", "action: Required value", "reason: Required value"]);
  });

  it("validates events.k8s.io events by the stricter rules", () => {
    const event: KubeObject = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "e", namespace: "default" },
      regarding: { kind: "Pod", name: "web", namespace: "default" },
      eventTime: "2024-05-01T10:00:00.000000Z",
      reportingController: "kubelab/scheduler",
      reportingInstance: "scheduler-1",
      action: "Binding",
      reason: "Scheduled",
      type: "Normal",
      deprecatedCount: 3,
    };
    expect(problems(event)).toEqual(['deprecatedCount: Invalid value: "": needs to be unset']);
  });
});
