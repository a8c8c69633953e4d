import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { createdJsonOf, encodeCreated, rememberCreatedJson } from "./created-json.js";

/** What the storage hands back after a create: the object with resourceVersion added to its metadata. */
function returned(object: KubeObject, resourceVersion: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion } };
}

describe("encodeCreated", () => {
  const cases: Record<string, KubeObject> = {
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", labels: { "a\"b": "ü\u2028" }, managedFields: [{ manager: "m", fieldsV1: { "f:spec": {} } }] },
      spec: { containers: [{ name: "c", image: "nginx" }] },
      status: {},
    },
    "empty metadata": { apiVersion: "v1", kind: "ConfigMap", metadata: {}, data: { k: "v" } },
    "metadata first, undefined members": { metadata: { name: "x", uid: undefined }, apiVersion: "v1", kind: "Secret", type: undefined, data: {} } as unknown as KubeObject,
    "metadata last": { apiVersion: "v1", kind: "Namespace", spec: { finalizers: ["kubernetes"] }, metadata: { name: "ns" } },
  };
  for (const [name, object] of Object.entries(cases)) {
    it(`stores JSON.stringify of the object and replies JSON.stringify of the returned one (${name})`, () => {
      const created = encodeCreated(object);
      expect(created.value.toString("utf8")).toBe(JSON.stringify(object));
      expect(created.replyJson("12345")).toBe(JSON.stringify(returned(object, "12345")));
    });
  }
});

describe("created JSON by identity", () => {
  it("is found for the recorded object only", () => {
    const object: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } };
    rememberCreatedJson(object, JSON.stringify(object));
    expect(createdJsonOf(object)).toBe(JSON.stringify(object));
    expect(createdJsonOf({ ...object })).toBeUndefined();
  });
});
