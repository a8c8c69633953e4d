import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMergePatch } from "./merge-patch.js";

describe("applyMergePatch", () => {
  // RFC 7386 appendix A.
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("merges %j with %j into %j", (target, patch, result) => {
    expect(applyMergePatch(target, patch)).toEqual(result);
  });

  it("labels an object as kubectl label does", () => {
    const pod = { metadata: { name: "web", labels: { app: "web", tier: "fe" } } };
    expect(applyMergePatch(pod, { metadata: { labels: { tier: null, env: "prod" } } })).toEqual({
      metadata: { name: "web", labels: { app: "web", env: "prod" } },
    });
  });

  it("leaves the original and the patch untouched", () => {
    const original = { a: { b: 1 }, list: [1] };
    const patch = { a: { c: { d: 1 } } };
    const result = applyMergePatch(original, patch) as { a: { c: { d: number } } };
    result.a.c.d = 2;
    expect(original).toEqual({ a: { b: 1 }, list: [1] });
    expect(patch).toEqual({ a: { c: { d: 1 } } });
  });
});

describe("merge patch properties", () => {
  it("is idempotent: applying a patch twice changes nothing more", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (target, patch) => {
        const once = applyMergePatch(target, patch);
        expect(applyMergePatch(once, patch)).toEqual(once);
      }),
    );
  });
});
