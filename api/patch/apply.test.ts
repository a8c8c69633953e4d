import { describe, expect, it } from "vitest";
import { StatusError } from "../errors.js";
import { PATCH_CONTENT_TYPES, applyPatch, patchTypeOf } from "./apply.js";

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

const live = { metadata: { name: "web", labels: { app: "web" } }, spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } };

describe("patchTypeOf", () => {
  it.each([
    ["application/json-patch+json", "application/json-patch+json"],
    ["application/merge-patch+json; charset=utf-8", "application/merge-patch+json"],
    ["Application/Strategic-Merge-Patch+JSON", "application/strategic-merge-patch+json"],
    ["application/apply-patch+yaml", "application/apply-patch+yaml"],
    ["application/json", undefined],
    ["", undefined],
  ])("reads %j as %j", (header, type) => {
    expect(patchTypeOf(header)).toBe(type);
  });
});

describe("applyPatch", () => {
  it("replaces lists under a merge patch", () => {
    expect(applyPatch("application/merge-patch+json", live, { spec: { containers: [{ name: "b", image: "2" }] } })).toEqual({
      metadata: live.metadata,
      spec: { containers: [{ name: "b", image: "2" }] },
    });
  });

  it("merges lists by key under a strategic merge patch", () => {
    expect(applyPatch("application/strategic-merge-patch+json", live, { spec: { containers: [{ name: "b", image: "2" }] } })).toEqual({
      metadata: live.metadata,
      spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "2" }] },
    });
  });

  it("applies a JSON patch", () => {
    expect(applyPatch("application/json-patch+json", live, [{ op: "replace", path: "/metadata/labels/app", value: "x" }])).toEqual({
      ...live,
      metadata: { name: "web", labels: { app: "x" } },
    });
  });

  it("upserts a server-side apply body, creating when there is no live object", () => {
    const applied = { apiVersion: "v1", kind: "Pod", metadata: { name: "web" }, spec: { containers: [{ name: "b", image: "3" }] } };
    expect(applyPatch("application/apply-patch+yaml", live, applied)).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", labels: { app: "web" } },
      spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "3" }] },
    });
    expect(applyPatch("application/apply-patch+yaml", undefined, applied)).toEqual(applied);
  });

  it.each([
    ["application/json-patch+json", '[{"op":"remove","path":"/metadata/labels"}]', { metadata: { name: "web" } }],
    ["application/merge-patch+json", '{"metadata":{"labels":null}}', { metadata: { name: "web" } }],
    ["application/apply-patch+yaml", "metadata:\n  labels:\n    tier: fe\n", { metadata: { name: "web", labels: { app: "web", tier: "fe" } } }],
  ])("decodes a raw %s body", (type, body, result) => {
    const original = { metadata: live.metadata };
    expect(applyPatch(type, original, body)).toEqual(result);
    expect(applyPatch(type, original, new TextEncoder().encode(body))).toEqual(result);
  });

  it("answers an unparsable raw body with 400", () => {
    expect(statusOf(() => applyPatch("application/merge-patch+json", live, "{nope")).code).toBe(400);
  });

  it.each([
    ["application/merge-patch+json", ["x"]],
    ["application/strategic-merge-patch+json", 7],
    ["application/apply-patch+yaml", null],
    ["application/json-patch+json", { op: "add" }],
  ])("answers a %s body of the wrong shape with 400", (type, body) => {
    expect(statusOf(() => applyPatch(type, live, body)).code).toBe(400);
  });

  it("answers an unsupported content type with Kubernetes' 415", () => {
    const err = statusOf(() => applyPatch("application/json", live, {}));
    expect(err.code).toBe(415);
    expect(err.reason).toBe("UnsupportedMediaType");
    expect(err.message).toBe(`the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(", ")}`);
  });

  it("never changes the live object", () => {
    const snapshot = structuredClone(live);
    applyPatch("application/strategic-merge-patch+json", live, { metadata: { labels: null } });
    applyPatch("application/merge-patch+json", live, { metadata: { labels: null } });
    applyPatch("application/json-patch+json", live, [{ op: "remove", path: "/metadata/labels" }]);
    expect(live).toEqual(snapshot);
  });
});
