import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloneJson, deepEqual, dropNulls, getOwn, setOwn, stripDirectives } from "./normalize.js";

describe("dropNulls", () => {
  it.each([
    [{ a: null, b: 1 }, { b: 1 }],
    [{ metadata: { creationTimestamp: null, name: "x" } }, { metadata: { name: "x" } }],
    [{ spec: { template: { metadata: { creationTimestamp: null } } } }, { spec: { template: { metadata: {} } } }],
    [{ list: [{ a: null, b: 2 }, null, 3] }, { list: [{ b: 2 }, null, 3] }],
    [null, null],
    ["text", "text"],
  ])("turns %j into %j", (input, output) => {
    expect(dropNulls(input)).toEqual(output);
  });

  it("leaves its input alone", () => {
    const input = { a: null, b: { c: null } };
    dropNulls(input);
    expect(input).toEqual({ a: null, b: { c: null } });
  });
});

describe("stripDirectives", () => {
  it("removes every $-key at any depth", () => {
    const input = { $patch: "replace", spec: { "$setElementOrder/containers": [], containers: [{ name: "a", $patch: "delete" }] } };
    expect(stripDirectives(input)).toEqual({ spec: { containers: [{ name: "a" }] } });
  });
});

describe("deepEqual", () => {
  it.each([
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [[1, 2], [2, 1], false],
    [{ a: 1 }, { a: "1" }, false],
    [{ a: {} }, { a: [] }, false],
    [null, {}, false],
    [null, null, true],
    [{ a: 1 }, { b: 1 }, false],
    ["x", "x", true],
  ])("compares %j and %j as %s", (a, b, equal) => {
    expect(deepEqual(a, b)).toBe(equal);
    expect(deepEqual(b, a)).toBe(equal);
  });

  it("holds between any JSON value and its clone", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(deepEqual(value, cloneJson(value))).toBe(true);
      }),
    );
  });
});

describe("cloneJson", () => {
  it("shares nothing with the original", () => {
    const original = { a: { b: [1, { c: 2 }] } };
    const copy = cloneJson(original);
    (copy.a.b[1] as { c: number }).c = 3;
    expect(original.a.b[1]).toEqual({ c: 2 });
  });

  it("copies a __proto__ member as data, not as a prototype", () => {
    const parsed: unknown = JSON.parse('{"__proto__": {"polluted": true}}');
    const copy = cloneJson(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(["__proto__"]);
  });
});

describe("setOwn and getOwn", () => {
  it("store and read __proto__ as an ordinary member", () => {
    const target: Record<string, unknown> = {};
    setOwn(target, "__proto__", { x: 1 });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(getOwn(target, "__proto__")).toEqual({ x: 1 });
  });

  it("never reads inherited members", () => {
    expect(getOwn({}, "constructor")).toBeUndefined();
  });
});

describe("normalisation properties", () => {
  it("makes dropNulls idempotent", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = dropNulls(value);
        expect(dropNulls(once)).toEqual(once);
      }),
    );
  });
});

/** The copies' definition, written plainly: a rebuilt value keeping the members `keep` accepts. */
function referenceCopy(value: unknown, keep: (key: string, member: unknown) => boolean): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => referenceCopy(item, keep));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (keep(key, member)) Object.defineProperty(out, key, { value: referenceCopy(member, keep), writable: true, enumerable: true, configurable: true });
  }
  return out;
}

/** Every array and object reachable from `value`. */
function containers(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value === "object" && value !== null) {
    into.add(value);
    for (const member of Object.values(value)) containers(member, into);
  }
  return into;
}

describe("dropNulls, stripDirectives and cloneJson against their definition", () => {
  const copies: [string, (value: unknown) => unknown, (key: string, member: unknown) => boolean][] = [
    ["dropNulls", dropNulls, (_key, member) => member !== null],
    ["stripDirectives", stripDirectives, (key) => !key.startsWith("$")],
    ["cloneJson", cloneJson, () => true],
  ];

  it.each(copies)("%s gives the same members in the same order, in new containers only", (_name, copy, keep) => {
    const keys = fc.constantFrom("a", "b", "$patch", "$setElementOrder/x", "__proto__", "constructor", "", "null");
    const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 3 }));
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("tree"), { maxLength: 4 }), fc.dictionary(keys, tie("tree"), { maxKeys: 5 })),
    }));
    fc.assert(
      fc.property(fc.oneof(tree, fc.jsonValue()), (generated) => {
        // Through JSON text, as bodies arrive: `__proto__` becomes an own member.
        const value = JSON.parse(JSON.stringify(generated) ?? "null") as unknown;
        const before = JSON.stringify(value);
        const copied = copy(value);
        const expected = referenceCopy(value, keep);
        expect(JSON.stringify(copied)).toBe(JSON.stringify(expected));
        expect(copied).toEqual(expected);
        expect(JSON.stringify(value)).toBe(before);
        const original = containers(value);
        for (const made of containers(copied)) expect(original.has(made)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a __proto__ member an own data member, never a prototype", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true,"n":null},"$x":1}') as unknown;
    for (const copy of [dropNulls, stripDirectives, cloneJson]) {
      const out = copy(value) as Record<string, unknown>;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.hasOwn(out, "__proto__")).toBe(true);
      expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    }
  });
});
