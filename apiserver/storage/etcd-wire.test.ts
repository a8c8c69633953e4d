import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import {
  decodeDeleteRangeResponse,
  decodeLeaseGrantResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  decodeWatchResponse,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  encodeWatchCreate,
} from "./etcd-wire.js";

// etcd's own message definitions, as the etcd3 package ships them: the hand-written codec must agree with them.
const protoDir = join(dirname(createRequire(import.meta.url).resolve("etcd3/package.json")), "proto");
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(protoDir, target.split("/").pop() ?? target);
root.loadSync("rpc.proto", { keepCase: true });
const type = (name: string): protobuf.Type => root.lookupType(`etcdserverpb.${name}`);
const asObject = (name: string, bytes: Buffer): Record<string, unknown> => {
  const t = type(name);
  return t.toObject(t.decode(bytes), { longs: String, bytes: String, enums: String, defaults: false });
};
const encodeWith = (name: string, object: Record<string, unknown>): Buffer => {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(object)).finish());
};
const b64 = (s: string): string => Buffer.from(s).toString("base64");
const HEADER = { cluster_id: "14841639068965178418", member_id: "10276657743932975437", revision: "9007199254740", raft_term: "7" };

describe("etcd-wire requests", () => {
  it("RangeRequest: only the fields that are set, bytes as protobufjs writes them", () => {
    const bytes = encodeRangeRequest({ key: Buffer.from("/registry/pods/"), rangeEnd: Buffer.from("/registry/pods0"), limit: 500, revision: 300, keysOnly: true, minModRevision: 5 });
    const object = { key: b64("/registry/pods/"), range_end: b64("/registry/pods0"), limit: "500", revision: "300", keys_only: true, min_mod_revision: "5" };
    expect(asObject("RangeRequest", bytes)).toEqual(object);
    expect(bytes.equals(encodeWith("RangeRequest", object))).toBe(true);
    expect(asObject("RangeRequest", encodeRangeRequest({ key: Buffer.from("health"), countOnly: true }))).toEqual({ key: b64("health"), count_only: true });
  });

  it("TxnRequest: compares with zero operands, every request op, a 64-bit lease", () => {
    const bytes = encodeTxnRequest({
      compare: [
        { key: Buffer.from("/a"), target: "Create", result: "Greater", createRevision: 0 },
        { key: Buffer.from("/b"), target: "Mod", result: "Equal", modRevision: 77 },
        { key: Buffer.from("/c"), target: "Value", result: "Equal", value: Buffer.from("v") },
      ],
      success: [
        { put: { key: Buffer.from("/a"), value: Buffer.from("{}"), lease: "7587874598712365313", ignoreLease: true } },
        { deleteRange: { key: Buffer.from("/b"), prevKv: true } },
      ],
      failure: [{ range: { key: Buffer.from("/a"), keysOnly: true } }],
    });
    expect(asObject("TxnRequest", bytes)).toEqual({
      compare: [
        { result: "Greater", target: "Create", key: b64("/a"), create_revision: "0" },
        { target: "Mod", key: b64("/b"), mod_revision: "77" },
        { target: "Value", key: b64("/c"), value: b64("v") },
      ],
      success: [
        { request_put: { key: b64("/a"), value: b64("{}"), lease: "7587874598712365313", ignore_lease: true } },
        { request_delete_range: { key: b64("/b"), prev_kv: true } },
      ],
      failure: [{ request_range: { key: b64("/a"), keys_only: true } }],
    });
  });

  it("WatchRequest, DeleteRangeRequest, LeaseGrantRequest", () => {
    expect(asObject("WatchRequest", encodeWatchCreate({ key: Buffer.from("/p/"), rangeEnd: Buffer.from("/p0"), startRevision: 12, prevKv: true, fragment: true }))).toEqual({
      create_request: { key: b64("/p/"), range_end: b64("/p0"), start_revision: "12", prev_kv: true, fragment: true },
    });
    expect(asObject("DeleteRangeRequest", encodeDeleteRangeRequest({ key: Buffer.from("/k") }))).toEqual({ key: b64("/k") });
    expect(asObject("LeaseGrantRequest", encodeLeaseGrantRequest(3605))).toEqual({ TTL: "3605" });
  });
});

describe("etcd-wire responses", () => {
  const kv = (key: string, value: string, create: number, mod: number): Record<string, unknown> => ({ key: b64(key), value: b64(value), create_revision: String(create), mod_revision: String(mod), version: "3", lease: "7587874598712365313" });

  it("RangeResponse: header revision, kvs, more, count; unknown 64-bit fields skipped", () => {
    const res = decodeRangeResponse(encodeWith("RangeResponse", { header: HEADER, kvs: [kv("/a", "x".repeat(300), 5, 9), kv("/b", "", 6, 6)], more: true, count: "1234" }));
    expect(res.revision).toBe(9_007_199_254_740);
    expect(res.more).toBe(true);
    expect(res.count).toBe(1234);
    expect(res.kvs.map((k) => [k.key.toString(), k.value.toString(), k.createRevision, k.modRevision])).toEqual([
      ["/a", "x".repeat(300), 5, 9],
      ["/b", "", 6, 6],
    ]);
    expect(decodeRangeResponse(encodeWith("RangeResponse", { header: { revision: "3" } }))).toEqual({ revision: 3, kvs: [], more: false, count: 0 });
  });

  it("TxnResponse: succeeded and each response op", () => {
    const res = decodeTxnResponse(
      encodeWith("TxnResponse", {
        header: HEADER,
        succeeded: true,
        responses: [
          { response_delete_range: { header: HEADER, deleted: "1", prev_kvs: [kv("/d", "old", 2, 4)] } },
          { response_range: { header: HEADER, kvs: [], count: "17" } },
          { response_put: { header: HEADER } },
        ],
      }),
    );
    expect(res.succeeded).toBe(true);
    expect(res.revision).toBe(9_007_199_254_740);
    expect(res.responses).toHaveLength(3);
    expect(res.responses[0]?.deleteRange?.prevKvs[0]?.value.toString()).toBe("old");
    expect(res.responses[0]?.deleteRange?.deleted).toBe(1);
    expect(res.responses[1]?.range?.count).toBe(17);
    expect(res.responses[2]).toEqual({});
    expect(decodeTxnResponse(encodeWith("TxnResponse", { header: { revision: "8" } })).succeeded).toBe(false);
    expect(decodeDeleteRangeResponse(encodeWith("DeleteRangeResponse", { header: HEADER, deleted: "2" })).deleted).toBe(2);
  });

  it("WatchResponse: created, canceled with a reason and compact revision, fragments, put and delete events", () => {
    const events = decodeWatchResponse(
      encodeWith("WatchResponse", {
        header: HEADER,
        watch_id: "0",
        fragment: true,
        events: [
          { type: "Put", kv: kv("/p/a", "{\"a\":1}", 3, 10), prev_kv: kv("/p/a", "{\"a\":0}", 3, 8) },
          { type: "Delete", kv: { key: b64("/p/b"), mod_revision: "11" } },
        ],
      }),
    );
    expect(events.fragment).toBe(true);
    expect(events.events.map((e) => [e.type, e.kv.key.toString(), e.kv.value.toString(), e.kv.modRevision, e.prevKv?.value.toString()])).toEqual([
      ["Put", "/p/a", "{\"a\":1}", 10, "{\"a\":0}"],
      ["Delete", "/p/b", "", 11, undefined],
    ]);
    expect(decodeWatchResponse(encodeWith("WatchResponse", { header: HEADER, created: true }))).toMatchObject({ created: true, canceled: false, events: [] });
    expect(decodeWatchResponse(encodeWith("WatchResponse", { header: HEADER, canceled: true, compact_revision: "42", cancel_reason: "compacted" }))).toMatchObject({
      canceled: true,
      compactRevision: 42,
      cancelReason: "compacted",
    });
  });

  it("LeaseGrantResponse: a 64-bit ID exactly, as a decimal string", () => {
    expect(decodeLeaseGrantResponse(encodeWith("LeaseGrantResponse", { header: HEADER, ID: "7587874598712365313", TTL: "65" }))).toEqual({ id: "7587874598712365313", ttl: 65, error: "" });
  });

  it("rejects a truncated message", () => {
    const bytes = encodeWith("RangeResponse", { header: HEADER, kvs: [kv("/a", "value", 1, 2)] });
    expect(() => decodeRangeResponse(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });
});
