import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { decodeLenient, encode } from "./etcd-storage.js";
import { PendingWrites, isPlainJson, isPlainJsonBeside } from "./pending-writes.js";

const pod = (): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default", uid: "u-1", labels: { "1": "one", app: "web" } },
  spec: { containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 80 }] }], priority: 0, enableServiceLinks: true, nodeName: "ü\u2028\ud800" },
  status: { phase: "Pending", conditions: [] },
});

const valueOf = (object: KubeObject): Buffer => Buffer.from(JSON.stringify(object));

describe("PendingWrites", () => {
  it("hands an event carrying the recorded bytes the recorded object, equal to the decoded value, member order included", () => {
    const writes = new PendingWrites();
    const object = pod();
    const value = valueOf(object);
    writes.record("/registry/pods/default/web", value, object);
    const taken = writes.take("/registry/pods/default/web", Buffer.from(value), 42);
    const decoded = decodeLenient(value, 42);
    expect(taken).toEqual(decoded);
    expect(JSON.stringify(taken)).toBe(JSON.stringify(decoded));
    expect(taken?.metadata.resourceVersion).toBe("42");
    // A copy of the top level and metadata: the written object itself is left as it was.
    expect(taken).not.toBe(object);
    expect(object.metadata.resourceVersion).toBeUndefined();
    // Taken once: the entry is gone.
    expect(writes.size).toBe(0);
    expect(writes.take("/registry/pods/default/web", value, 42)).toBeUndefined();
  });

  it("hands an update's event its object with resourceVersion last in metadata, as decoding the value puts it", () => {
    const writes = new PendingWrites();
    const base = pod();
    // An update's object carries the revision it was made against, here in the middle of metadata.
    const object: KubeObject = { ...base, metadata: { name: "web", namespace: "default", resourceVersion: "41", uid: "u-1", labels: { app: "web" } } };
    const value = encode(object);
    writes.record("/registry/pods/default/web", value, object);
    const taken = writes.take("/registry/pods/default/web", Buffer.from(value), 42);
    const decoded = decodeLenient(value, 42);
    expect(JSON.stringify(taken)).toBe(JSON.stringify(decoded));
    expect(Object.keys(taken?.metadata ?? {})).toEqual(["name", "namespace", "uid", "labels", "resourceVersion"]);
    expect(object.metadata.resourceVersion).toBe("41");
  });

  it("leaves the entry for other bytes at the key (another write), and for other keys", () => {
    const writes = new PendingWrites();
    const object = pod();
    const value = valueOf(object);
    writes.record("/registry/pods/default/web", value, object);
    expect(writes.take("/registry/pods/default/web", valueOf({ ...object, status: {} }), 7)).toBeUndefined();
    expect(writes.take("/registry/pods/default/other", value, 7)).toBeUndefined();
    expect(writes.size).toBe(1);
    expect(writes.take("/registry/pods/default/web", value, 8)?.metadata.resourceVersion).toBe("8");
  });

  it("forgets a failed write, but not a later write of the same key", () => {
    const writes = new PendingWrites();
    const first = writes.record("/k", valueOf(pod()), pod());
    writes.forget(first);
    expect(writes.size).toBe(0);
    const again = writes.record("/k", valueOf(pod()), pod());
    const later = writes.record("/k", valueOf({ ...pod(), status: {} }), { ...pod(), status: {} });
    writes.forget(again);
    expect(writes.size).toBe(1);
    writes.forget(later);
    expect(writes.size).toBe(0);
  });

  it("keeps at most its bound of entries, dropping the oldest", () => {
    const writes = new PendingWrites(2);
    const object = pod();
    const value = valueOf(object);
    writes.record("/a", value, object);
    writes.record("/b", value, object);
    writes.record("/c", value, object);
    expect(writes.size).toBe(2);
    expect(writes.take("/a", value, 1)).toBeUndefined();
    expect(writes.take("/b", value, 1)).toBeDefined();
    expect(writes.take("/c", value, 1)).toBeDefined();
  });

  it("falls back (undefined) for an object JSON does not reproduce, and takes the entry out all the same", () => {
    const writes = new PendingWrites();
    const object = { ...pod(), spec: { nodeName: undefined, containers: [] } } as unknown as KubeObject;
    const value = valueOf(object);
    writes.record("/k", value, object);
    expect(writes.take("/k", value, 3)).toBeUndefined();
    expect(writes.size).toBe(0);
  });
});

describe("isPlainJson", () => {
  it("accepts what JSON gives back exactly", () => {
    for (const value of [pod(), "s", true, false, null, 0, 1.5, -3, [], {}, [1, ["a", { b: null }]], JSON.parse('{"__proto__":{"x":1}}')]) {
      expect(isPlainJson(value, 0)).toBe(true);
    }
  });

  it("refuses what JSON would drop or change", () => {
    class Thing {
      a = 1;
    }
    const holey: unknown[] = [1];
    holey[2] = 3;
    const cases: unknown[] = [
      undefined,
      { a: undefined },
      [undefined],
      holey,
      Number.NaN,
      Infinity,
      -0,
      { n: -0 },
      new Date(0),
      new Thing(),
      Object.create(null),
      () => 1,
      { toJSON: () => 1 },
      10n,
      Symbol("s"),
      Buffer.from("x"),
      new Map(),
    ];
    for (const value of cases) expect(isPlainJson(value, 0)).toBe(false);
  });

  it("refuses everything while Object.prototype has an enumerable member, which its walk would take for own", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(isPlainJson({ a: 1 }, 0)).toBe(false);
      expect(isPlainJsonBeside({ a: 1 }, { a: 1 }, 0)).toBe(false);
    } finally {
      delete proto.polluted;
    }
    expect(isPlainJson({ a: 1 }, 0)).toBe(true);
  });

  it("refuses values nested deeper than any accepted body", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1100; i++) deep = [deep];
    expect(isPlainJson(deep, 0)).toBe(false);
  });
});

describe("isPlainJsonBeside", () => {
  it("answers as isPlainJson, walking only what the value does not share with a plain object it was built from", () => {
    const base = pod();
    const spec = base.spec as Record<string, unknown>;
    const variants: Record<string, unknown> = {
      "a binding's new pod": { ...base, metadata: { ...base.metadata }, spec: { ...spec, nodeName: "n" } },
      "a new undefined member": { ...base, spec: { ...spec, nodeName: undefined } },
      "a shared member replaced by NaN": { ...base, spec: { ...spec, priority: NaN } },
      "a deeper replaced member": { ...base, spec: { ...spec, containers: [{ ...(spec.containers as object[])[0], ports: [-0] }] } },
      "a hole in a new array": { ...base, status: { conditions: Object.assign(new Array<unknown>(2), { 1: 1 }) } },
      "a longer array": { ...base, spec: { ...spec, containers: [...(spec.containers as object[]), { name: "d" }] } },
      "a class instance": { ...base, status: new Date(0) },
      "an object for an array": { ...base, spec: { ...spec, containers: { 0: (spec.containers as object[])[0] } } },
      "undefined itself": undefined,
    };
    for (const [name, value] of Object.entries(variants)) {
      expect(isPlainJsonBeside(value, base, 0), name).toBe(isPlainJson(value, 0));
      expect(isPlainJsonBeside(value, undefined, 0), name).toBe(isPlainJson(value, 0));
    }
    expect(isPlainJsonBeside(variants["a binding's new pod"], base, 0)).toBe(true);
    expect(isPlainJsonBeside(variants["a shared member replaced by NaN"], base, 0)).toBe(false);
  });
});
