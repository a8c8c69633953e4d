import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { grpcTarget } from "./etcd-client.js";
import { decodeTxnOutcome, encodeCreateTxn } from "./etcd-fast-txn.js";

// etcd's own message definitions, as etcd3 ships them: the hand-written codec must agree with them byte for byte.
const protoDir = join(dirname(createRequire(import.meta.url).resolve("etcd3/package.json")), "proto");
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(protoDir, target.split("/").pop() ?? target);
root.loadSync("rpc.proto", { keepCase: true });
const TxnRequest = root.lookupType("etcdserverpb.TxnRequest");
const TxnResponse = root.lookupType("etcdserverpb.TxnResponse");

describe("encodeCreateTxn", () => {
  it.each([
    ["a small pod", "/registry/pods/default/web", '{"kind":"Pod"}', undefined],
    ["a value over 128 bytes and a lease", "/registry/events/default/e.1", "x".repeat(300), 7_587_862_134_567],
    ["an empty value", "/k", "", undefined],
  ])("writes what protobufjs decodes as the create transaction: %s", (_name, key, value, lease) => {
    const bytes = encodeCreateTxn(Buffer.from(key), Buffer.from(value), lease);
    const decoded = TxnRequest.toObject(TxnRequest.decode(bytes), { longs: String, bytes: String, defaults: false });
    expect(decoded).toEqual({
      compare: [{ result: 0, target: 1, key: Buffer.from(key).toString("base64"), create_revision: "0" }],
      success: [{ request_put: { key: Buffer.from(key).toString("base64"), value: Buffer.from(value).toString("base64"), ...(lease === undefined ? {} : { lease: String(lease) }) } }],
    });
    // Same bytes as protobufjs' own encoder, field for field.
    expect(Buffer.from(TxnRequest.encode(TxnRequest.fromObject(decoded)).finish()).equals(bytes)).toBe(true);
  });
});

describe("decodeTxnOutcome", () => {
  it("reads succeeded and the revision, skipping 64-bit ids and the responses", () => {
    const response = TxnResponse.encode(
      TxnResponse.fromObject({
        header: { cluster_id: "14841639068965178418", member_id: "10276657743932975437", revision: "1234567890123", raft_term: "9" },
        succeeded: true,
        responses: [{ response_put: { header: { revision: "1234567890123" } } }],
      }),
    ).finish();
    expect(decodeTxnOutcome(Buffer.from(response))).toEqual({ succeeded: true, revision: 1_234_567_890_123 });
  });

  it("reads a failed compare (succeeded absent on the wire)", () => {
    const response = TxnResponse.encode(TxnResponse.fromObject({ header: { revision: "42" }, succeeded: false })).finish();
    expect(decodeTxnOutcome(Buffer.from(response))).toEqual({ succeeded: false, revision: 42 });
  });

  it("rejects a truncated message", () => {
    const response = Buffer.from(TxnResponse.encode(TxnResponse.fromObject({ header: { revision: "300" }, succeeded: true })).finish());
    expect(() => decodeTxnOutcome(response.subarray(0, 4))).toThrow(/truncated/);
  });
});

describe("grpcTarget", () => {
  it("takes host:port from an endpoint and says whether it is TLS", () => {
    expect(grpcTarget("http://127.0.0.1:2379")).toEqual({ target: "127.0.0.1:2379", secure: false });
    expect(grpcTarget("127.0.0.1:2379")).toEqual({ target: "127.0.0.1:2379", secure: false });
    expect(grpcTarget("https://etcd:2379")).toEqual({ target: "etcd:2379", secure: true });
  });
});
