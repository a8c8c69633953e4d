import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { encode } from "./etcd-storage.js";
import { encodeWritten, metadataEnd, rememberReplyJson, replyJsonOf } from "./written-json.js";

/** What the storage hands back after a write: the object with resourceVersion set in its metadata. */
function returned(object: KubeObject, resourceVersion: string): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion } };
}

describe("encodeWritten, for a create (no resourceVersion)", () => {
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
      const created = encodeWritten(object);
      expect(created?.value.toString("utf8")).toBe(JSON.stringify(object));
      expect(created?.replyJson("12345").toString("utf8")).toBe(JSON.stringify(returned(object, "12345")));
    });
  }

  it("declines an object whose JSON has no metadata object to splice into", () => {
    expect(encodeWritten({ apiVersion: "v1", kind: "X", metadata: { toJSON: () => "m" } } as unknown as KubeObject)).toBeUndefined();
    expect(encodeWritten({ apiVersion: "v1", kind: "X", data: { metadata: {} } } as unknown as KubeObject)).toBeUndefined();
    expect(encodeWritten({ apiVersion: "v1", kind: "X", metadata: Object.assign(Object.create(null) as object, { name: "x" }) })).toBeUndefined();
  });
});

describe("encodeWritten, for an update (a resourceVersion somewhere in metadata)", () => {
  const status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastProbeTime: null }], podIP: "10.0.0.1" };
  const cases: Record<string, KubeObject> = {
    "first member": { apiVersion: "v1", kind: "Pod", metadata: { resourceVersion: "7", name: "p", namespace: "default" }, spec: {}, status },
    "a middle member": {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", uid: "u", resourceVersion: "7", creationTimestamp: "2026-01-01T00:00:00Z", labels: { a: "}" }, managedFields: [{ manager: "kubelet", fieldsV1: { "f:status": { "f:phase": {} } } }] },
      spec: { containers: [{ name: "c", image: "nginx" }] },
      status,
    },
    "last member (a status write that added labels before it)": { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { x: "y" }, resourceVersion: "7" }, status },
    "the only member": { apiVersion: "v1", kind: "ConfigMap", metadata: { resourceVersion: "7" }, data: { k: "v" } },
    "skipped members before it": { apiVersion: "v1", kind: "Pod", metadata: { uid: undefined, name: "p", generateName: undefined, resourceVersion: "7", labels: undefined }, spec: {} } as unknown as KubeObject,
    "undefined resourceVersion": { apiVersion: "v1", kind: "Pod", metadata: { name: "p", resourceVersion: undefined, uid: "u" } } as unknown as KubeObject,
    "metadata first, quotes and escapes": {
      metadata: { annotations: { 'r"}': '"resourceVersion":"1"', "é😀": "\u2028 " }, resourceVersion: "7", name: "n" },
      apiVersion: "v1",
      kind: "Event",
      involvedObject: { kind: "Pod", resourceVersion: "3" },
    },
    "integer-like keys (written first)": { apiVersion: "v1", kind: "X", metadata: { name: "n", resourceVersion: "7", "12": "twelve" } as unknown as KubeObject["metadata"] },
  };
  for (const [name, object] of Object.entries(cases)) {
    it(`stores the object's stored form and replies JSON.stringify of the returned one (${name})`, () => {
      const written = encodeWritten(object);
      expect(written?.value.toString("utf8")).toBe(encode(object).toString("utf8"));
      expect(written?.replyJson("123456").toString("utf8")).toBe(JSON.stringify(returned(object, "123456")));
    });
  }

  it("declines a metadata member before resourceVersion that decides its own JSON (toJSON)", () => {
    const object = { apiVersion: "v1", kind: "X", metadata: { name: "x", creationTimestamp: new Date(0), resourceVersion: "1" } } as unknown as KubeObject;
    expect(encodeWritten(object)).toBeUndefined();
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

describe("reply JSON by identity", () => {
  it("is found for the recorded object only", () => {
    const object: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } };
    const written = encodeWritten(object);
    if (written === undefined) throw new Error("no splice point in a plain object");
    rememberReplyJson(object, written, "7");
    expect(replyJsonOf(object)?.toString("utf8")).toBe(JSON.stringify({ ...object, metadata: { name: "p", resourceVersion: "7" } }));
    expect(replyJsonOf({ ...object })).toBeUndefined();
  });
});
