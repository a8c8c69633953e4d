// The create transaction — "if the key was never created, put it" — sent straight through @grpc/grpc-js with a
// hand-written protobuf codec for the few fields it uses. It is the apiserver's hottest etcd call (every POST), and
// going through etcd3 costs about twice the CPU: its connection pool and fault-policy wrappers, protobufjs'
// fromObject/toObject over the whole message, and 64-bit integers (cluster_id, member_id, raft_term, revision)
// turned into strings through `long` on every response. Only the revision and `succeeded` are read back here.
//
// Wire format (etcd's rpc.proto, field numbers): TxnRequest{1 compare, 2 success}; Compare{1 result, 2 target,
// 3 key, 5 create_revision}; RequestOp{2 request_put}; PutRequest{1 key, 2 value, 3 lease};
// TxnResponse{1 header, 2 succeeded}; ResponseHeader{3 revision}.
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";

const TXN_METHOD = "/etcdserverpb.KV/Txn";
/** Compare.target CREATE and Compare.result EQUAL (etcd's CompareTarget / CompareResult enums). */
const TARGET_CREATE = 1;
const RESULT_EQUAL = 0;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Writes a non-negative integer (≤ 2^53) as a varint at `at`; returns the position after it. */
function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}

/** A length-delimited field's size: tag, length, payload. */
function fieldSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/**
 * TxnRequest{compare: [{result: EQUAL, target: CREATE, key, create_revision: 0}], success: [{request_put: {key,
 * value, lease}}]} — the same bytes protobufjs writes for it.
 */
export function encodeCreateTxn(key: Buffer, value: Buffer, lease?: number): Buffer {
  const compareLen = 2 + 2 + fieldSize(key.length) + 2; // result, target, key, create_revision (all tags are one byte)
  const putLen = fieldSize(key.length) + fieldSize(value.length) + (lease === undefined ? 0 : 1 + varintSize(lease));
  const opLen = fieldSize(putLen);
  const buf = Buffer.allocUnsafe(fieldSize(compareLen) + fieldSize(opLen));
  let at = 0;
  buf[at++] = (1 << 3) | 2; // TxnRequest.compare
  at = writeVarint(buf, at, compareLen);
  buf[at++] = (1 << 3) | 0; // Compare.result
  buf[at++] = RESULT_EQUAL;
  buf[at++] = (2 << 3) | 0; // Compare.target
  buf[at++] = TARGET_CREATE;
  buf[at++] = (3 << 3) | 2; // Compare.key
  at = writeVarint(buf, at, key.length);
  at += key.copy(buf, at);
  buf[at++] = (5 << 3) | 0; // Compare.create_revision
  buf[at++] = 0;
  buf[at++] = (2 << 3) | 2; // TxnRequest.success
  at = writeVarint(buf, at, opLen);
  buf[at++] = (2 << 3) | 2; // RequestOp.request_put
  at = writeVarint(buf, at, putLen);
  buf[at++] = (1 << 3) | 2; // PutRequest.key
  at = writeVarint(buf, at, key.length);
  at += key.copy(buf, at);
  buf[at++] = (2 << 3) | 2; // PutRequest.value
  at = writeVarint(buf, at, value.length);
  at += value.copy(buf, at);
  if (lease !== undefined) {
    buf[at++] = (3 << 3) | 0; // PutRequest.lease
    at = writeVarint(buf, at, lease);
  }
  return buf;
}

export interface TxnOutcome {
  succeeded: boolean;
  /** The transaction's revision (ResponseHeader.revision). */
  revision: number;
}

/** Reads a varint at `at`; returns [value, next position]. Values above 2^53 lose precision (revisions never get there). */
function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint in etcd response");
    const byte = buf[at++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 0x80;
  }
}

/** Skips the value of a field of `wireType` at `at`; returns the position after it. */
function skipField(buf: Buffer, at: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return readVarint(buf, at)[1];
    case 1:
      return at + 8;
    case 2: {
      const [len, next] = readVarint(buf, at);
      return next + len;
    }
    case 5:
      return at + 4;
    default:
      throw new Error(`unexpected protobuf wire type ${wireType} in etcd response`);
  }
}

/** TxnResponse → succeeded and header.revision; every other field is skipped. */
export function decodeTxnOutcome(buf: Buffer): TxnOutcome {
  let succeeded = false;
  let revision = 0;
  let at = 0;
  while (at < buf.length) {
    const [tag, afterTag] = readVarint(buf, at);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 1 && wireType === 2) {
      const [len, start] = readVarint(buf, afterTag);
      const end = start + len;
      for (let h = start; h < end; ) {
        const [htag, afterHtag] = readVarint(buf, h);
        if (Math.floor(htag / 8) === 3 && htag % 8 === 0) {
          [revision, h] = readVarint(buf, afterHtag);
        } else {
          h = skipField(buf, afterHtag, htag % 8);
        }
      }
      at = end;
    } else if (field === 2 && wireType === 0) {
      const [flag, next] = readVarint(buf, afterTag);
      succeeded = flag !== 0;
      at = next;
    } else {
      at = skipField(buf, afterTag, wireType);
    }
  }
  return { succeeded, revision };
}

/** "http://127.0.0.1:2379" → "127.0.0.1:2379"; undefined for an endpoint this client does not serve (TLS). */
export function plainTarget(endpoint: string): string | undefined {
  if (!/^[a-z]+:\/\//i.test(endpoint)) return endpoint;
  const url = new URL(endpoint);
  return url.protocol === "http:" ? url.host : undefined;
}

/** A gRPC client for one plaintext etcd member that sends create transactions. */
export class FastCreateTxn {
  private readonly client: Client;

  constructor(target: string, channelOptions: Record<string, number>) {
    this.client = new Client(target, credentials.createInsecure(), channelOptions);
  }

  /** Sends the create transaction; rejects with the gRPC ServiceError (code, details) as etcd3 would. */
  create(key: Buffer, value: Buffer, lease: number | undefined, deadline: number): Promise<TxnOutcome> {
    const request = encodeCreateTxn(key, value, lease);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(TXN_METHOD, identity, decodeTxnOutcome, request, new Metadata(), { deadline }, (err: ServiceError | null, res?: TxnOutcome) => {
        if (err) reject(err);
        else if (res) resolve(res);
        else reject(new Error("etcd sent no Txn response"));
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

function identity(b: Buffer): Buffer {
  return b;
}
