import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeState, encodeState, RecordStore } from "./state.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Thing {
  id: string;
  at: bigint;
}

const isThing = (v: unknown): v is Thing => typeof v === "object" && v !== null && typeof Reflect.get(v, "id") === "string" && typeof Reflect.get(v, "at") === "bigint";

describe("RecordStore", () => {
  it("keeps bigints exact through JSON", () => {
    const value = { a: 1_765_000_000_123_456_789n, nested: [{ b: -5n }], plain: "x" };
    expect(decodeState(encodeState(value))).toEqual(value);
  });

  it("saves, loads and deletes records, dropping half-written temp files and reporting foreign ones", () => {
    const root = mkdtempSync(join(tmpdir(), "state-"));
    dirs.push(root);
    const store = new RecordStore(root, "things", isThing);
    store.save("t1", { id: "t1", at: 1n });
    store.save("t2", { id: "t2", at: 2n });
    store.save("t2", { id: "t2", at: 3n });
    writeFileSync(join(root, "things", "t3.json.tmp-999"), "{\"id\":");
    writeFileSync(join(root, "things", "bad.json"), "{\"id\":\"bad\"}");
    store.delete("t1");
    const loaded = store.load();
    expect([...loaded.records.entries()]).toEqual([["t2", { id: "t2", at: 3n }]]);
    expect(loaded.rejected.map((r) => r.file)).toEqual([join(root, "things", "bad.json")]);
    expect(readdirSync(join(root, "things")).sort()).toEqual(["bad.json", "t2.json"]);
    expect(() => { store.save("../escape", { id: "x", at: 0n }); }).toThrow(/invalid record id/);
  });
});
