// The create transaction — "if the key was never created, put it" — written in one buffer without building the
// message piece by piece (etcd-wire.ts' general codec). It is the apiserver's hottest etcd call (every POST); only
// the revision and `succeeded` are read back.
//
// Wire format (etcd's rpc.proto, field numbers): TxnRequest{1 compare, 2 success}; Compare{1 result, 2 target,
// 3 key, 5 create_revision}; RequestOp{2 request_put}; PutRequest{1 key, 2 value, 3 lease};
// TxnResponse{1 header, 2 succeeded}; ResponseHeader{3 revision}.
import { readVarint, skipField } from "./etcd-wire.js";

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
