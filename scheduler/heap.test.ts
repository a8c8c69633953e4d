import { describe, expect, it } from "vitest";
import { Heap } from "./heap.js";

describe("Heap", () => {
  const make = () => new Heap<{ k: string; v: number }>((x) => x.k, (a, b) => a.v < b.v);

  it("pops in order", () => {
    const h = make();
    for (const v of [5, 3, 9, 1, 7, 2]) h.push({ k: `k${v}`, v });
    const out: number[] = [];
    for (let x = h.pop(); x; x = h.pop()) out.push(x.v);
    expect(out).toEqual([1, 2, 3, 5, 7, 9]);
  });

  it("replaces and re-positions an item pushed again under its key, and deletes by key", () => {
    const h = make();
    for (const v of [5, 3, 9]) h.push({ k: `k${v}`, v });
    h.push({ k: "k9", v: 0 });
    expect(h.size).toBe(3);
    expect(h.peek()).toEqual({ k: "k9", v: 0 });
    expect(h.delete("k3")).toEqual({ k: "k3", v: 3 });
    expect(h.has("k3")).toBe(false);
    expect([h.pop()?.v, h.pop()?.v, h.pop()]).toEqual([0, 5, undefined]);
  });
});
