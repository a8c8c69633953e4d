// The shortcuts of managedFields tracking give what the plain algorithms give: compare() skipping unchanged maps,
// FieldSet.toFieldsV1 building its tree without sorting whole paths, FieldSets read from canonical FieldsV1 kept
// undecoded, and trackUpdate keeping the fields of managers untouched by a write. Each is checked against a
// reference written here the plain way (the algorithms as they were before the shortcuts), on hand-picked and on
// generated objects, and on the inputs where a shortcut must step aside.
import { describe, expect, it } from "vitest";
import type { KubeObject, ManagedFieldsEntry } from "../meta.js";
import { isRecord } from "../meta.js";
import { deepEqual } from "../normalize.js";
import { FieldSet, type FieldPath } from "./fieldset.js";
import { decodeManagers, encodeManagers, trackUpdate, type Manager, type Writer } from "./managers.js";
import { compare, compareFieldsV1, members, WHOLE_OBJECT, type Comparison, type Scope } from "./structure.js";
import { seededRandom } from "../../test/support/random.js";

// ---------------------------------------------------------------------------------------------------------------
// References

/** FieldSet.toFieldsV1 the plain way: paths sorted whole, a tree with "." on every member, leaves collapsed. */
function referenceFieldsV1(set: FieldSet): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of set.list()) {
    let node = root;
    for (const element of path) {
      const child = node[element];
      if (isRecord(child)) {
        node = child;
      } else {
        const created: Record<string, unknown> = {};
        Object.defineProperty(node, element, { value: created, writable: true, enumerable: true, configurable: true });
        node = created;
      }
    }
    node["."] = {};
  }
  const collapse = (node: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(node);
    if (keys.length === 1 && keys[0] === ".") return out;
    for (const key of keys) {
      const child = node[key];
      Object.defineProperty(out, key, { value: key === "." ? {} : collapse(isRecord(child) ? child : {}), writable: true, enumerable: true, configurable: true });
    }
    return out;
  };
  return collapse(root);
}

const ALWAYS_PRESENT = new Set(["metadata", "spec", "status", "template", "strategy", "updateStrategy", "jobTemplate", "containers"]);

/** compare() the plain way: every member of both objects, with containers, side by side. */
function referenceCompare(before: unknown, after: unknown, scope: Scope): Comparison {
  const old = members(before, scope, true);
  const next = members(after, scope, true);
  const alwaysPresent = (path: FieldPath): boolean => path.every((e) => e.startsWith("f:") && ALWAYS_PRESENT.has(e.slice(2)));
  const added = new FieldSet();
  const modified = new FieldSet();
  const removed = new FieldSet();
  for (const [key, member] of next) {
    const previous = old.get(key);
    if (previous === undefined) {
      if (!(member.container === true && alwaysPresent(member.path))) added.add(member.path, key);
    } else if (member.container !== true && previous.container !== true && !deepEqual(previous.value, member.value)) {
      modified.add(member.path, key);
    }
  }
  for (const [key, member] of old) if (!next.has(key) && !(member.container === true && alwaysPresent(member.path))) removed.add(member.path, key);
  return { added, modified, removed };
}

/** trackUpdate the plain way: referenceCompare, and every set decoded and operated on path by path. */
function referenceTrackUpdate(entries: ManagedFieldsEntry[], before: KubeObject, after: KubeObject, writer: Writer, scope: Scope): ManagedFieldsEntry[] {
  const { added, modified, removed } = referenceCompare(before, after, scope);
  const changed = added.union(modified);
  const out: Manager[] = [];
  let own: Manager | undefined;
  for (const decoded of decodeManagers(entries)) {
    const m = { ...decoded, fields: new FieldSet(decoded.fields.list()) };
    if (m.manager === writer.manager && m.operation === "Update" && m.subresource === writer.subresource && m.apiVersion === writer.apiVersion) own = m;
    else out.push({ ...m, fields: m.fields.difference(removed).difference(changed) });
  }
  const touched = !changed.isEmpty() || !removed.isEmpty() || own === undefined;
  const fields = (own?.fields ?? new FieldSet()).difference(removed).union(changed);
  out.push({ manager: writer.manager, operation: "Update", apiVersion: writer.apiVersion, subresource: writer.subresource, time: touched ? writer.time : own?.time, fields });
  return encodeManagers(out.map((m) => ({ ...m, fields: new FieldSet(m.fields.list()) })));
}

/** A set's paths as sorted JSON, to compare sets whatever their insertion order. */
function pathsOf(set: FieldSet): string[] {
  return set.list().map((p) => JSON.stringify(p));
}

// ---------------------------------------------------------------------------------------------------------------
// Objects

function pod(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-1",
      namespace: "default",
      uid: "u1",
      resourceVersion: "7",
      generateName: "web-",
      labels: { app: "web", "pod-template-hash": "abc" },
      annotations: { note: "x" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs", controller: true, blockOwnerDeletion: true }],
      finalizers: ["a", "b"],
      managedFields: [{ manager: "m", operation: "Update", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:x": {} } } }],
    },
    spec: {
      containers: [
        { name: "c", image: "nginx", ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }], env: [{ name: "A", value: "1" }, { name: "A", value: "2" }, { value: "no key" }], args: ["x"], resources: { requests: { cpu: "10m" } } },
        { name: "side", image: "busybox", command: [] },
      ],
      volumes: [{ name: "v", emptyDir: {} }],
      nodeSelector: { disk: "ssd" },
      tolerations: [{ key: "k", operator: "Exists" }],
      securityContext: {},
      nodeName: "n1",
    },
    status: {
      phase: "Running",
      conditions: [
        { type: "PodScheduled", status: "True", lastProbeTime: null },
        { type: "Ready", status: "True" },
      ],
      podIPs: [{ ip: "10.0.0.1" }],
      containerStatuses: [{ name: "c", state: { running: { startedAt: "t" } }, lastState: {}, ready: true }],
      empty: {},
    },
  };
}


/** The object with a few random changes: values changed, members removed or added, maps and lists emptied. */
function mutated(object: unknown, next: () => number, changes: number): unknown {
  const copy = structuredClone(object);
  for (let i = 0; i < changes; i++) {
    // Walk down to a random container.
    let node: unknown = copy;
    for (let depth = 0; depth < 6; depth++) {
      const children = isRecord(node) ? Object.keys(node) : Array.isArray(node) ? node.map((_, j) => j) : [];
      if (children.length === 0) break;
      const pick = children[Math.floor(next() * children.length)]!;
      const child: unknown = isRecord(node) ? node[pick as string] : (node as unknown[])[pick as number];
      if ((!isRecord(child) && !Array.isArray(child)) || next() < 0.25) {
        const choice = next();
        const values: unknown[] = ["changed", 42, true, {}, [], { added: "x" }, [{ name: "c" }, { name: "new" }], [{ type: "Ready", status: "False" }]];
        if (isRecord(node)) {
          // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a random change of a test object
          if (choice < 0.3) delete node[pick as string];
          else node[choice < 0.5 ? `new${i}` : (pick as string)] = values[Math.floor(next() * values.length)];
        } else if (Array.isArray(node)) {
          if (choice < 0.3) node.splice(pick as number, 1);
          else node.push(structuredClone(node[pick as number]));
        }
        break;
      }
      node = child;
    }
  }
  return copy;
}

const SCOPES: [string, Scope][] = [
  ["whole object", WHOLE_OBJECT],
  ["not status", (f) => WHOLE_OBJECT(f) && f !== "status"],
  ["status only", (f) => f === "status" || f === "metadata"],
];

// ---------------------------------------------------------------------------------------------------------------

describe("compare skips unchanged maps and still gives the member-by-member comparison", () => {
  const expectSame = (before: unknown, after: unknown, scope: Scope): void => {
    const fast = compare(before, after, scope);
    const plain = referenceCompare(before, after, scope);
    expect(pathsOf(fast.added)).toEqual(pathsOf(plain.added));
    expect(pathsOf(fast.modified)).toEqual(pathsOf(plain.modified));
    expect(pathsOf(fast.removed)).toEqual(pathsOf(plain.removed));
  };

  for (const [name, scope] of SCOPES) {
    it(`${name}: hand-picked changes`, () => {
      const base = pod();
      const status = structuredClone(base);
      status.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }], hostIP: "1.2.3.4" };
      const labels = structuredClone(base);
      labels.metadata.labels = { app: "other" };
      const emptied = structuredClone(base);
      emptied.spec = {};
      const gone = structuredClone(base);
      delete gone.status;
      for (const after of [base, structuredClone(base), status, labels, emptied, gone]) {
        expectSame(base, after, scope);
        expectSame(after, base, scope);
      }
      // Where the shortcut steps aside: a create, an empty object, something that is not an object.
      expectSame(undefined, base, scope);
      expectSame({}, base, scope);
      expectSame(base, {}, scope);
      expectSame({}, {}, scope);
      expectSame("x", base, scope);
    });

    it(`${name}: 400 generated pairs`, () => {
      const next = seededRandom(name.length);
      for (let i = 0; i < 400; i++) {
        const before = i % 4 === 0 ? pod() : mutated(pod(), next, 1 + Math.floor(next() * 3));
        const after = mutated(before, next, 1 + Math.floor(next() * 4));
        expectSame(before, after, scope);
      }
    });
  }
});

describe("compareFieldsV1 gives compare()'s sets as canonical FieldsV1 trees", () => {
  const expectSame = (before: unknown, after: unknown, scope: Scope): void => {
    const trees = compareFieldsV1(before, after, scope);
    const plain = referenceCompare(before, after, scope);
    if (trees === undefined) return;
    expect(JSON.stringify(trees.changed)).toBe(JSON.stringify(referenceFieldsV1(plain.added.union(plain.modified))));
    expect(JSON.stringify(trees.removed)).toBe(JSON.stringify(referenceFieldsV1(plain.removed)));
  };

  for (const [name, scope] of SCOPES) {
    it(`${name}: hand-picked changes`, () => {
      const base = pod();
      // pod() has two env items keyed "A": the trees step aside when the walk reaches them, as compare merges them.
      const envChanged = structuredClone(base);
      (envChanged.spec as { containers: { env?: unknown[] }[] }).containers[0]!.env?.push({ name: "B" });
      expect(compareFieldsV1(base, envChanged, WHOLE_OBJECT)).toBeUndefined();
      expect(compareFieldsV1(base, structuredClone(base), scope)).toEqual({ changed: {}, removed: {} });
      const unique = pod();
      const spec = unique.spec as { containers: { env?: unknown[] }[] };
      spec.containers[0]!.env = [{ name: "A", value: "1" }, { name: "B", value: "2" }, { value: "no key" }];
      const status = structuredClone(unique);
      status.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }, { type: "Initialized", status: "True" }], hostIP: "1.2.3.4", podIPs: [{ ip: "10.0.0.2" }] };
      const labels = structuredClone(unique);
      labels.metadata.labels = { app: "other" };
      const emptied = structuredClone(unique);
      emptied.spec = {};
      const gone = structuredClone(unique);
      delete gone.status;
      const finalizers = structuredClone(unique);
      finalizers.metadata.finalizers = ["b", "c", "c"];
      const reshaped = structuredClone(unique);
      reshaped.status = { phase: { nested: true }, conditions: { type: "x" }, podIPs: "none", empty: [1] };
      for (const after of [unique, structuredClone(unique), status, labels, emptied, gone, finalizers, reshaped]) {
        expect(compareFieldsV1(unique, after, scope)).toBeDefined();
        expectSame(unique, after, scope);
        expectSame(after, unique, scope);
      }
      // Where the trees step aside: a create, an empty object, something that is not an object.
      for (const [before, after] of [[undefined, unique], [{}, unique], [unique, {}], ["x", unique]] as const) expect(compareFieldsV1(before, after, scope)).toBeUndefined();
    });

    it(`${name}: 600 generated pairs`, () => {
      const next = seededRandom(name.length + 100);
      let compared = 0;
      for (let i = 0; i < 600; i++) {
        const start = pod();
        (start.spec as { containers: { env?: unknown[] }[] }).containers[0]!.env = i % 2 === 0 ? [{ name: "A" }, { name: "B", value: "x" }] : [];
        const before = i % 4 === 0 ? start : mutated(start, next, 1 + Math.floor(next() * 3));
        const after = mutated(before, next, 1 + Math.floor(next() * 4));
        if (compareFieldsV1(before, after, scope) !== undefined) compared++;
        expectSame(before, after, scope);
      }
      expect(compared).toBeGreaterThan(400);
    });
  }
});

describe("members() keys each path by its JSON, built element by element", () => {
  it("for generated objects, with and without containers", () => {
    const next = seededRandom(3);
    for (let i = 0; i < 100; i++) {
      const object = mutated(pod(), next, Math.floor(next() * 5));
      for (const containers of [true, false]) {
        for (const [key, member] of members(object, WHOLE_OBJECT, containers)) expect(key).toBe(JSON.stringify(member.path));
      }
    }
  });
});

describe("FieldSet.toFieldsV1 builds the same tree as sorting whole paths", () => {
  it("for the sets of generated objects, member order included", () => {
    const next = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const object = mutated(pod(), next, Math.floor(next() * 5));
      for (const [, scope] of SCOPES) {
        const { added } = compare(undefined, object, scope);
        expect(JSON.stringify(added.toFieldsV1())).toBe(JSON.stringify(referenceFieldsV1(added)));
      }
    }
  });

  it("falls back to sorting whole paths for index elements and the empty path", () => {
    const sets = [
      new FieldSet([["f:a", "i:1"], ["f:a", "i:01"], ["f:a", "i:10"], ["f:a", "i:2"], ["f:b"]]),
      new FieldSet([[], ["f:a"]]),
      new FieldSet([]),
    ];
    for (const set of sets) expect(JSON.stringify(set.toFieldsV1())).toBe(JSON.stringify(referenceFieldsV1(set)));
  });
});

describe("a FieldSet read from canonical FieldsV1 is decoded only when needed", () => {
  const canonical = { "f:metadata": { "f:labels": { ".": {}, "f:app": {} } }, "f:spec": { "f:containers": { 'k:{"name":"c"}': { ".": {}, "f:image": {}, "f:name": {} } }, "f:replicas": {} } };

  it("answers the very tree it was read from, and what decoding it answers", () => {
    const set = FieldSet.fromFieldsV1(canonical);
    expect(set.toFieldsV1()).toBe(canonical);
    expect(set.isEmpty()).toBe(false);
    const decoded = new FieldSet(set.list());
    expect(JSON.stringify(decoded.toFieldsV1())).toBe(JSON.stringify(canonical));
    expect(FieldSet.fromFieldsV1({}).isEmpty()).toBe(true);
  });

  it("tells intersection without decoding as decoding does", () => {
    const set = FieldSet.fromFieldsV1(canonical);
    const probes: FieldPath[][] = [
      [["f:spec", "f:replicas"]],
      [["f:metadata", "f:labels"]],
      [["f:metadata"]], // a node on the way, not in the set
      [["f:spec", "f:containers", 'k:{"name":"c"}']],
      [["f:spec", "f:containers", 'k:{"name":"d"}'], ["f:status"]],
      [["f:spec", "f:replicas", "f:deeper"]],
      [],
    ];
    for (const paths of probes) {
      const other = new FieldSet(paths);
      const expected = new FieldSet(set.list()).intersection(other).size > 0;
      expect(FieldSet.fromFieldsV1(canonical).intersects(other)).toBe(expected);
      expect(new FieldSet(set.list()).intersects(other)).toBe(expected);
    }
  });

  it("decodes at once, as before, what is not canonical, and encodes it canonically", () => {
    const noncanonical: Record<string, unknown>[] = [
      { "f:b": {}, "f:a": {} }, // members out of order
      { "f:a": { ".": {} } }, // a lone "."
      { "f:a": { "f:x": {}, ".": {} } }, // "." not first
      { "f:a": { ".": { "f:y": {} }, "f:x": {} } }, // "." with members of its own
      { ".": {}, "f:a": {} }, // "." at the root
      { "f:a": { "i:10": {}, "i:2": {} } }, // indices out of numeric order
    ];
    for (const tree of noncanonical) {
      const set = FieldSet.fromFieldsV1(tree);
      expect(set.toFieldsV1()).not.toBe(tree);
      expect(JSON.stringify(set.toFieldsV1())).toBe(JSON.stringify(referenceFieldsV1(new FieldSet(set.list()))));
    }
    expect(() => FieldSet.fromFieldsV1({ "x:a": {} })).toThrow(/unknown path element/);
    expect(() => FieldSet.fromFieldsV1({ "f:a": 1 })).toThrow(/expected an object/);
  });
});

describe("trackUpdate keeps the fields of managers a write does not touch", () => {
  const W: Writer = { manager: "kubelet", apiVersion: "v1", subresource: "status", time: "2026-01-01T00:05:00Z" };
  const statusScope: Scope = (f) => f === "status" || f === "metadata";

  /** The managers with every FieldSet decoded up front: trackUpdate without the shortcut's undecoded sets. */
  const decodedAll = (entries: ManagedFieldsEntry[]): Manager[] => decodeManagers(entries).map((m) => ({ ...m, fields: new FieldSet(m.fields.list()) }));

  it("gives the same managedFields, sharing the untouched trees, as with every set decoded", () => {
    const next = seededRandom(11);
    for (let i = 0; i < 150; i++) {
      const before = mutated(pod(), next, Math.floor(next() * 3)) as KubeObject;
      // Managers as a create, the scheduler and an earlier status write leave them.
      const created = trackUpdate([], undefined, before, { manager: "kcm", apiVersion: "v1", subresource: "", time: "2026-01-01T00:00:00Z" }, WHOLE_OBJECT);
      const sched = trackUpdate(decodeManagers(created), before, mutated(before, next, 1) as KubeObject, { manager: "sched", apiVersion: "v1", subresource: "", time: "2026-01-01T00:01:00Z" }, WHOLE_OBJECT);
      const entries: ManagedFieldsEntry[] = JSON.parse(JSON.stringify(sched)) as ManagedFieldsEntry[];
      const after = mutated(before, next, 1 + Math.floor(next() * 3)) as KubeObject;
      for (const scope of [statusScope, WHOLE_OBJECT]) {
        const fast = trackUpdate(decodeManagers(entries), before, after, W, scope);
        const plain = trackUpdate(decodedAll(entries), before, after, W, scope);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(plain));
      }
    }
  });

  it("gives what the plain algorithm gives, for first and repeated writes", () => {
    const next = seededRandom(13);
    let covered = 0;
    for (let i = 0; i < 300; i++) {
      const start = pod();
      (start.spec as { containers: { env?: unknown[] }[] }).containers[0]!.env = i % 3 === 0 ? [{ name: "A" }, { name: "A" }] : [{ name: "A" }];
      const before = mutated(start, next, Math.floor(next() * 3)) as KubeObject;
      const created = trackUpdate([], undefined, before, { manager: "kcm", apiVersion: "v1", subresource: "", time: "2026-01-01T00:00:00Z" }, WHOLE_OBJECT);
      const middle = mutated(before, next, 1 + Math.floor(next() * 2)) as KubeObject;
      for (const scope of [statusScope, WHOLE_OBJECT]) {
        const first = trackUpdate(decodeManagers(created), before, middle, W, scope);
        expect(JSON.stringify(first)).toBe(JSON.stringify(referenceTrackUpdate(created, before, middle, W, scope)));
        // The writer again: on a change of fields it owns (often), of others, or none.
        const entries = JSON.parse(JSON.stringify(first)) as ManagedFieldsEntry[];
        const again = i % 3 === 1 ? structuredClone(middle) : (mutated(middle, next, 1) as KubeObject);
        const second = trackUpdate(decodeManagers(entries), middle, again, { ...W, time: "2026-01-01T00:09:00Z" }, scope);
        expect(JSON.stringify(second)).toBe(JSON.stringify(referenceTrackUpdate(entries, middle, again, { ...W, time: "2026-01-01T00:09:00Z" }, scope)));
        if (second.find((e) => e.manager === W.manager)?.fieldsV1 === entries.find((e) => e.manager === W.manager)?.fieldsV1) covered++;
      }
    }
    // The own tree was kept as it was in some of the repeated writes.
    expect(covered).toBeGreaterThan(20);
  });

  it("reuses an untouched manager's tree and re-encodes a touched one", () => {
    const before = pod();
    const entries: ManagedFieldsEntry[] = [
      { manager: "kcm", operation: "Update", apiVersion: "v1", time: "2026-01-01T00:00:00Z", fieldsType: "FieldsV1", fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:app": {} } } } },
      { manager: "other", operation: "Update", apiVersion: "v1", time: "2026-01-01T00:01:00Z", fieldsType: "FieldsV1", fieldsV1: { "f:status": { "f:phase": {} } } },
    ];
    const after = structuredClone(before);
    (after.status as Record<string, unknown>).phase = "Succeeded";
    const out = trackUpdate(decodeManagers(entries), before, after, W, statusScope);
    expect(out.find((e) => e.manager === "kcm")?.fieldsV1).toBe(entries[0]!.fieldsV1);
    expect(out.find((e) => e.manager === "other")).toBeUndefined();
    expect(out.find((e) => e.manager === "kubelet")?.fieldsV1).toEqual({ "f:status": { "f:phase": {} } });
  });
});
