import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "../errors.js";
import { applyJsonPatch, formatJsonPointer, parseJsonPointer } from "./json-patch.js";

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

describe("applyJsonPatch", () => {
  // RFC 6902 appendix A, plus the pointer escapes and kubectl's rollout undo.
  it.each([
    ["adds an object member", { foo: "bar" }, [{ op: "add", path: "/baz", value: "qux" }], { foo: "bar", baz: "qux" }],
    ["adds an array element", { foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }], { foo: ["bar", "qux", "baz"] }],
    ["appends with -", { foo: [1] }, [{ op: "add", path: "/foo/-", value: 2 }], { foo: [1, 2] }],
    ["adds at the array's end index", { foo: [1] }, [{ op: "add", path: "/foo/1", value: 2 }], { foo: [1, 2] }],
    ["replaces an existing member on add", { foo: 1 }, [{ op: "add", path: "/foo", value: 2 }], { foo: 2 }],
    ["adds a nested object", { foo: "bar" }, [{ op: "add", path: "/child", value: { grandchild: {} } }], { foo: "bar", child: { grandchild: {} } }],
    ["removes an object member", { baz: "qux", foo: "bar" }, [{ op: "remove", path: "/baz" }], { foo: "bar" }],
    ["removes an array element", { foo: ["bar", "qux", "baz"] }, [{ op: "remove", path: "/foo/1" }], { foo: ["bar", "baz"] }],
    ["replaces a value", { baz: "qux", foo: "bar" }, [{ op: "replace", path: "/baz", value: "boo" }], { baz: "boo", foo: "bar" }],
    ["replaces an array element", { a: [1, 2] }, [{ op: "replace", path: "/a/0", value: 9 }], { a: [9, 2] }],
    ["replaces the whole document", { a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }], { b: 2 }],
    [
      "moves a value",
      { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    ],
    ["moves an array element", { foo: ["all", "grass", "cows", "eat"] }, [{ op: "move", from: "/foo/1", path: "/foo/3" }], { foo: ["all", "cows", "eat", "grass"] }],
    ["copies a value", { a: { b: 1 } }, [{ op: "copy", from: "/a", path: "/c" }], { a: { b: 1 }, c: { b: 1 } }],
    ["passes a test", { baz: "qux", foo: ["a", 2, "c"] }, [{ op: "test", path: "/baz", value: "qux" }, { op: "test", path: "/foo/1", value: 2 }], { baz: "qux", foo: ["a", 2, "c"] }],
    ["reads ~1 and ~0 escapes", { "a/b": 1, "m~n": 2 }, [{ op: "replace", path: "/a~1b", value: 3 }, { op: "remove", path: "/m~0n" }], { "a/b": 3 }],
    ["adds to an empty key", {}, [{ op: "add", path: "/", value: 1 }], { "": 1 }],
    [
      "replaces annotations as rollout undo does",
      { metadata: { name: "d", annotations: { "deployment.kubernetes.io/revision": "2" } }, spec: { template: { spec: { containers: [{ name: "a", image: "v2" }] } } } },
      [
        { op: "replace", path: "/spec/template", value: { spec: { containers: [{ name: "a", image: "v1" }] } } },
        { op: "replace", path: "/metadata/annotations", value: { "deployment.kubernetes.io/revision": "1" } },
      ],
      { metadata: { name: "d", annotations: { "deployment.kubernetes.io/revision": "1" } }, spec: { template: { spec: { containers: [{ name: "a", image: "v1" }] } } } },
    ],
    ["applies nothing for an empty patch", { a: 1 }, [], { a: 1 }],
  ])("%s", (_title, doc, patch, result) => {
    expect(applyJsonPatch(doc, patch)).toEqual(result);
  });

  it.each([
    ["a replace of a missing key", { metadata: {} }, [{ op: "replace", path: "/metadata/annotations", value: {} }]],
    ["a remove of a missing key", { a: 1 }, [{ op: "remove", path: "/b" }]],
    ["an add under a missing parent", { a: 1 }, [{ op: "add", path: "/b/c", value: 1 }]],
    ["an index past the end", { a: [1] }, [{ op: "add", path: "/a/2", value: 1 }]],
    ["a remove past the end", { a: [1] }, [{ op: "remove", path: "/a/1" }]],
    ["an index with a leading zero", { a: [1, 2] }, [{ op: "replace", path: "/a/01", value: 1 }]],
    ["a failing test", { a: 1 }, [{ op: "test", path: "/a", value: 2 }]],
    ["a test of a missing path", { a: 1 }, [{ op: "test", path: "/b", value: 1 }]],
    ["an unknown op", { a: 1 }, [{ op: "frobnicate", path: "/a" }]],
    ["a missing value", { a: 1 }, [{ op: "add", path: "/b" }]],
    ["a missing path", { a: 1 }, [{ op: "remove" }]],
    ["a pointer without a leading slash", { a: 1 }, [{ op: "remove", path: "a" }]],
    ["a move into its own child", { a: { b: 1 } }, [{ op: "move", from: "/a", path: "/a/b/c" }]],
    ["a removal of the whole document", { a: 1 }, [{ op: "remove", path: "" }]],
  ])("answers %s with 422 Invalid", (_title, doc, patch) => {
    const err = statusOf(() => applyJsonPatch(doc, patch));
    expect(err.code).toBe(422);
    expect(err.reason).toBe("Invalid");
    expect(err.message).toMatch(/^the server rejected our request due to an error in our request: ./);
    expect(err.details?.causes).toBeUndefined();
  });

  it("says which key a failing replace missed", () => {
    const err = statusOf(() => applyJsonPatch({ metadata: {} }, [{ op: "replace", path: "/metadata/annotations", value: {} }]));
    expect(err.message).toContain("/metadata/annotations");
  });

  it.each([
    ["an object", { op: "add", path: "/a", value: 1 }],
    ["a string", "add"],
    ["a list with a non-object", [{ op: "add", path: "/a", value: 1 }, 3]],
  ])("answers a body that is %s with 400 BadRequest", (_title, patch) => {
    expect(statusOf(() => applyJsonPatch({}, patch)).code).toBe(400);
  });

  it("answers more than 10000 operations with 413", () => {
    const patch = Array.from({ length: 10001 }, () => ({ op: "test", path: "", value: {} }));
    expect(statusOf(() => applyJsonPatch({}, patch)).code).toBe(413);
  });

  it("leaves the original and the patch untouched, even when an operation fails", () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    const value = { deep: [1] };
    const patch = [
      { op: "add", path: "/a/-", value },
      { op: "remove", path: "/b/c" },
    ];
    const result = applyJsonPatch(doc, patch) as { a: unknown[] };
    expect(doc).toEqual({ a: [1, 2], b: { c: 1 } });
    (result.a[2] as { deep: number[] }).deep.push(2);
    expect(value).toEqual({ deep: [1] });
    expect(() => applyJsonPatch(doc, [{ op: "remove", path: "/a/0" }, { op: "remove", path: "/zzz" }])).toThrow(StatusError);
    expect(doc).toEqual({ a: [1, 2], b: { c: 1 } });
  });

  it("treats a __proto__ member as data", () => {
    const result = applyJsonPatch({}, [{ op: "add", path: "/__proto__", value: { polluted: true } }]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("JSON pointers", () => {
  it.each([
    ["", []],
    ["/", [""]],
    ["/a/b", ["a", "b"]],
    ["/a~1b/m~0n", ["a/b", "m~n"]],
    ["/~01", ["~1"]],
  ])("splits %j into %j", (pointer, tokens) => {
    expect(parseJsonPointer(pointer)).toEqual(tokens);
  });

  it("formats tokens back into the pointer they came from", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), (tokens) => {
        expect(parseJsonPointer(formatJsonPointer(tokens))).toEqual(tokens);
      }),
    );
  });
});

describe("JSON patch properties", () => {
  it("undoes an add of a new member with a remove", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })), fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), (doc, key, value) => {
        fc.pre(!Object.hasOwn(doc, key));
        const path = formatJsonPointer([key]);
        const result = applyJsonPatch(doc, [{ op: "add", path, value }, { op: "test", path, value }, { op: "remove", path }]);
        expect(result).toEqual(doc);
      }),
    );
  });
});
