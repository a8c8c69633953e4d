import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { createdJsonOf, encodeCreated, metadataEnd, rememberCreatedJson } from "./created-json.js";

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
    "brackets, quotes and escapes before and inside metadata": {
      apiVersion: 'v1"}{[,',
      kind: "ConfigMap",
      extra: [{ "x}": ["]", "\\", '\\"'] }, 1.5, true, null, -2e-7],
      metadata: { name: "c", annotations: { "a}\"": '{"metadata":{}}', "é€😀": "\n\u0000" }, labels: {} },
      data: { metadata: "{" },
    },
  };
  for (const [name, object] of Object.entries(cases)) {
    it(`stores JSON.stringify of the object and replies JSON.stringify of the returned one (${name})`, () => {
      const created = encodeCreated(object);
      expect(created?.value.toString("utf8")).toBe(JSON.stringify(object));
      expect(created?.replyJson("12345").toString("utf8")).toBe(JSON.stringify(returned(object, "12345")));
    });
  }

  it("declines an object whose JSON has no metadata object to splice into", () => {
    expect(encodeCreated({ apiVersion: "v1", kind: "X", metadata: { toJSON: () => "m" } } as unknown as KubeObject)).toBeUndefined();
    expect(encodeCreated({ apiVersion: "v1", kind: "X", data: { metadata: {} } } as unknown as KubeObject)).toBeUndefined();
  });
});

describe("metadataEnd", () => {
  const at = (json: string): number => metadataEnd(Buffer.from(json));
  it("finds the closing brace of the top-level metadata member only", () => {
    expect(at('{"metadata":{}}')).toBe(13);
    expect(at('{"a":"\\"metadata\\":{}","metadata":{"x":[{}]}}')).toBe('{"a":"\\"metadata\\":{}","metadata":{"x":[{}]'.length);
    expect(at('{"a":{"metadata":{}}}')).toBe(-1);
    expect(at('{"metadata":[]}')).toBe(-1);
    expect(at('{"metadata":"{}"}')).toBe(-1);
    expect(at('{"metadata":1}')).toBe(-1);
    expect(at("[]")).toBe(-1);
    expect(at("")).toBe(-1);
    expect(at('{"metadata":{"a":"')).toBe(-1);
  });
});

describe("created JSON by identity", () => {
  it("is found for the recorded object only", () => {
    const object: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } };
    const json = Buffer.from(JSON.stringify(object));
    rememberCreatedJson(object, json);
    expect(createdJsonOf(object)).toBe(json);
    expect(createdJsonOf({ ...object })).toBeUndefined();
  });
});
