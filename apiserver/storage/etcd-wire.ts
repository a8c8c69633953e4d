// etcd's v3 messages (rpc.proto, kv.proto), written and read by hand for the fields the apiserver uses. The etcd3
// package parses its .proto files with protobufjs at import (about 0.15 s of start and 15 MB of the apiserver's
// memory) and turns every message into plain objects with 64-bit integers as strings; this codec does neither.
//
// Integers: revisions, counts, limits and TTLs are JS numbers (exact below 2^53, which etcd's revisions never reach);
// lease IDs are 64-bit and random, so they are carried as decimal strings and encoded through BigInt.

// ---------------------------------------------------------------------------------------------------------------
// Primitives

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

/** Reads a varint at `at`; returns [value, next position]. Values above 2^53 lose precision. */
export function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint in etcd message");
    const byte = buf[at++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 0x80;
  }
}

/** Reads a varint as an unsigned 64-bit BigInt (lease IDs). */
function readVarint64(buf: Buffer, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint in etcd message");
    const byte = buf[at++] ?? 0;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
    shift += 7n;
  }
}

/** Skips the value of a field of `wireType` at `at`; returns the position after it. */
export function skipField(buf: Buffer, at: number, wireType: number): number {
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
      throw new Error(`unexpected protobuf wire type ${wireType} in etcd message`);
  }
}

/** Calls `field(number, wireType, at)` for every field of the message in buf[start, end); it returns the next position. */
function forEachField(buf: Buffer, start: number, end: number, field: (number: number, wireType: number, at: number) => number | undefined): void {
  let at = start;
  while (at < end) {
    const [tag, afterTag] = readVarint(buf, at);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    at = field(number, wireType, afterTag) ?? skipField(buf, afterTag, wireType);
  }
}

/** A length-delimited field's payload bounds at `at`: [start, end]. */
function bytesAt(buf: Buffer, at: number): [number, number] {
  const [len, start] = readVarint(buf, at);
  if (start + len > buf.length) throw new Error("truncated field in etcd message");
  return [start, start + len];
}

function varint(n: number | bigint): number[] {
  const out: number[] = [];
  if (typeof n === "bigint") {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return out;
  }
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** Builds one message field by field, in field-number order as protobufjs writes them. */
class MessageWriter {
  private readonly parts: Buffer[] = [];

  /** A varint field; zero/false is left out (proto3 default) unless `always` (a oneof member). */
  int(field: number, value: number | bigint | boolean | undefined, always = false): this {
    if (value === undefined) return this;
    const n = typeof value === "boolean" ? (value ? 1 : 0) : value;
    if (!always && (n === 0 || n === 0n)) return this;
    this.parts.push(Buffer.from([...varint(field * 8 + WIRE_VARINT), ...varint(n)]));
    return this;
  }

  bytes(field: number, value: Buffer | undefined, always = false): this {
    if (value === undefined || (!always && value.length === 0)) return this;
    this.parts.push(Buffer.from([...varint(field * 8 + WIRE_BYTES), ...varint(value.length)]), value);
    return this;
  }

  finish(): Buffer {
    return this.parts.length === 1 && this.parts[0] ? this.parts[0] : Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  /** A lease ID (decimal string). */
  lease?: string;
  ignoreLease?: boolean;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

/** One compare of a transaction; exactly one of createRevision, modRevision, value is the target's operand. */
export interface Compare {
  key: Buffer;
  target: "Create" | "Mod" | "Value";
  result: "Equal" | "Greater" | "Less" | "NotEqual";
  createRevision?: number;
  modRevision?: number;
  value?: Buffer;
}

export type RequestOp = { range: RangeRequest } | { put: PutRequest } | { deleteRange: DeleteRangeRequest };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export function encodeRangeRequest(r: RangeRequest): Buffer {
  return new MessageWriter()
    .bytes(1, r.key, true)
    .bytes(2, r.rangeEnd)
    .int(3, r.limit)
    .int(4, r.revision)
    .int(8, r.keysOnly)
    .int(9, r.countOnly)
    .int(10, r.minModRevision)
    .finish();
}

export function encodePutRequest(r: PutRequest): Buffer {
  return new MessageWriter()
    .bytes(1, r.key, true)
    .bytes(2, r.value)
    .int(3, r.lease === undefined ? undefined : BigInt(r.lease))
    .int(6, r.ignoreLease)
    .finish();
}

export function encodeDeleteRangeRequest(r: DeleteRangeRequest): Buffer {
  return new MessageWriter().bytes(1, r.key, true).bytes(2, r.rangeEnd).int(3, r.prevKv).finish();
}

const COMPARE_RESULT = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;
const COMPARE_TARGET = { Create: 1, Mod: 2, Value: 3 } as const;

function encodeCompare(c: Compare): Buffer {
  return new MessageWriter()
    .int(1, COMPARE_RESULT[c.result])
    .int(2, COMPARE_TARGET[c.target])
    .bytes(3, c.key, true)
    .int(5, c.createRevision, true)
    .int(6, c.modRevision, true)
    .bytes(7, c.value, true)
    .finish();
}

function encodeRequestOp(op: RequestOp): Buffer {
  const w = new MessageWriter();
  if ("range" in op) w.bytes(1, encodeRangeRequest(op.range), true);
  else if ("put" in op) w.bytes(2, encodePutRequest(op.put), true);
  else w.bytes(3, encodeDeleteRangeRequest(op.deleteRange), true);
  return w.finish();
}

export function encodeTxnRequest(t: TxnRequest): Buffer {
  const w = new MessageWriter();
  for (const c of t.compare) w.bytes(1, encodeCompare(c), true);
  for (const op of t.success) w.bytes(2, encodeRequestOp(op), true);
  for (const op of t.failure) w.bytes(3, encodeRequestOp(op), true);
  return w.finish();
}

export interface WatchCreateRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  startRevision?: number;
  prevKv?: boolean;
  fragment?: boolean;
}

/** WatchRequest{create_request}. */
export function encodeWatchCreate(r: WatchCreateRequest): Buffer {
  const create = new MessageWriter()
    .bytes(1, r.key, true)
    .bytes(2, r.rangeEnd)
    .int(3, r.startRevision)
    .int(6, r.prevKv)
    .int(8, r.fragment)
    .finish();
  return new MessageWriter().bytes(1, create, true).finish();
}

export function encodeLeaseGrantRequest(ttlSeconds: number): Buffer {
  return new MessageWriter().int(1, ttlSeconds).finish();
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

export interface RangeResponse {
  /** header.revision */
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export interface ResponseOp {
  range?: RangeResponse;
  deleteRange?: DeleteRangeResponse;
}

export interface TxnResponse {
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface WatchEvent {
  type: "Put" | "Delete";
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchResponse {
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: WatchEvent[];
}

export interface LeaseGrantResponse {
  /** The lease ID, decimal. */
  id: string;
  ttl: number;
  error: string;
}

function decodeHeaderRevision(buf: Buffer, start: number, end: number): number {
  let revision = 0;
  forEachField(buf, start, end, (field, wireType, at) => {
    if (field !== 3 || wireType !== WIRE_VARINT) return undefined;
    const [value, next] = readVarint(buf, at);
    revision = value;
    return next;
  });
  return revision;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a varint at `at` like readVarint, leaving the position after it in `varintEnd` instead of allocating a
 * tuple: the decoders of lists call it for every field of every key (10k pods at start, in code V8 has not
 * optimized yet, where each allocation and closure call shows).
 */
function varintAt(buf: Buffer, at: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= end) throw new Error("truncated varint in etcd message");
    const byte = buf[at++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varintEnd = at;
      return value;
    }
    scale *= 0x80;
  }
}
let varintEnd = 0;

/** Values and keys are views into `buf` (no copy). */
function decodeKeyValue(buf: Buffer, start: number, end: number): KeyValue {
  const kv: KeyValue = { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0 };
  let at = start;
  while (at < end) {
    const tag = varintAt(buf, at, end);
    at = varintEnd;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === WIRE_BYTES && (field === 1 || field === 5)) {
      const len = varintAt(buf, at, end);
      const s = varintEnd;
      if (s + len > end) throw new Error("truncated field in etcd message");
      if (field === 1) kv.key = buf.subarray(s, s + len);
      else kv.value = buf.subarray(s, s + len);
      at = s + len;
    } else if (wireType === WIRE_VARINT && (field === 2 || field === 3)) {
      const value = varintAt(buf, at, end);
      if (field === 2) kv.createRevision = value;
      else kv.modRevision = value;
      at = varintEnd;
    } else {
      at = skipField(buf, at, wireType);
    }
  }
  return kv;
}

function decodeRangeResponseAt(buf: Buffer, start: number, end: number): RangeResponse {
  const res: RangeResponse = { revision: 0, kvs: [], more: false, count: 0 };
  // A plain loop rather than forEachField: it runs once per key of a list page (see varintAt).
  let at = start;
  while (at < end) {
    const tag = varintAt(buf, at, end);
    at = varintEnd;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === WIRE_BYTES && (field === 1 || field === 2)) {
      const len = varintAt(buf, at, end);
      const s = varintEnd;
      if (s + len > end) throw new Error("truncated field in etcd message");
      if (field === 1) res.revision = decodeHeaderRevision(buf, s, s + len);
      else res.kvs.push(decodeKeyValue(buf, s, s + len));
      at = s + len;
    } else if (wireType === WIRE_VARINT && (field === 3 || field === 4)) {
      const value = varintAt(buf, at, end);
      if (field === 3) res.more = value !== 0;
      else res.count = value;
      at = varintEnd;
    } else {
      at = skipField(buf, at, wireType);
    }
  }
  return res;
}

export function decodeRangeResponse(buf: Buffer): RangeResponse {
  return decodeRangeResponseAt(buf, 0, buf.length);
}

function decodeDeleteRangeResponseAt(buf: Buffer, start: number, end: number): DeleteRangeResponse {
  const res: DeleteRangeResponse = { revision: 0, deleted: 0, prevKvs: [] };
  forEachField(buf, start, end, (field, wireType, at) => {
    if (wireType === WIRE_BYTES && (field === 1 || field === 3)) {
      const [s, e] = bytesAt(buf, at);
      if (field === 1) res.revision = decodeHeaderRevision(buf, s, e);
      else res.prevKvs.push(decodeKeyValue(buf, s, e));
      return e;
    }
    if (wireType === WIRE_VARINT && field === 2) {
      const [value, next] = readVarint(buf, at);
      res.deleted = value;
      return next;
    }
    return undefined;
  });
  return res;
}

export function decodeDeleteRangeResponse(buf: Buffer): DeleteRangeResponse {
  return decodeDeleteRangeResponseAt(buf, 0, buf.length);
}

export function decodeTxnResponse(buf: Buffer): TxnResponse {
  const res: TxnResponse = { revision: 0, succeeded: false, responses: [] };
  forEachField(buf, 0, buf.length, (field, wireType, at) => {
    if (wireType === WIRE_BYTES && field === 1) {
      const [s, e] = bytesAt(buf, at);
      res.revision = decodeHeaderRevision(buf, s, e);
      return e;
    }
    if (wireType === WIRE_VARINT && field === 2) {
      const [value, next] = readVarint(buf, at);
      res.succeeded = value !== 0;
      return next;
    }
    if (wireType === WIRE_BYTES && field === 3) {
      const [s, e] = bytesAt(buf, at);
      const op: ResponseOp = {};
      forEachField(buf, s, e, (opField, opWire, opAt) => {
        if (opWire !== WIRE_BYTES || (opField !== 1 && opField !== 3)) return undefined;
        const [os, oe] = bytesAt(buf, opAt);
        if (opField === 1) op.range = decodeRangeResponseAt(buf, os, oe);
        else op.deleteRange = decodeDeleteRangeResponseAt(buf, os, oe);
        return oe;
      });
      res.responses.push(op);
      return e;
    }
    return undefined;
  });
  return res;
}

export function decodeWatchResponse(buf: Buffer): WatchResponse {
  const res: WatchResponse = { created: false, canceled: false, compactRevision: 0, cancelReason: "", fragment: false, events: [] };
  forEachField(buf, 0, buf.length, (field, wireType, at) => {
    if (wireType === WIRE_VARINT && (field === 3 || field === 4 || field === 5 || field === 7)) {
      const [value, next] = readVarint(buf, at);
      if (field === 3) res.created = value !== 0;
      else if (field === 4) res.canceled = value !== 0;
      else if (field === 5) res.compactRevision = value;
      else res.fragment = value !== 0;
      return next;
    }
    if (wireType === WIRE_BYTES && field === 6) {
      const [s, e] = bytesAt(buf, at);
      res.cancelReason = buf.toString("utf8", s, e);
      return e;
    }
    if (wireType === WIRE_BYTES && field === 11) {
      const [s, e] = bytesAt(buf, at);
      let type: WatchEvent["type"] = "Put";
      let kv: KeyValue | undefined;
      let prevKv: KeyValue | undefined;
      forEachField(buf, s, e, (evField, evWire, evAt) => {
        if (evWire === WIRE_VARINT && evField === 1) {
          const [value, next] = readVarint(buf, evAt);
          type = value === 1 ? "Delete" : "Put";
          return next;
        }
        if (evWire === WIRE_BYTES && (evField === 2 || evField === 3)) {
          const [ks, ke] = bytesAt(buf, evAt);
          if (evField === 2) kv = decodeKeyValue(buf, ks, ke);
          else prevKv = decodeKeyValue(buf, ks, ke);
          return ke;
        }
        return undefined;
      });
      res.events.push({ type, kv: kv ?? { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0 }, ...(prevKv ? { prevKv } : {}) });
      return e;
    }
    return undefined;
  });
  return res;
}

export function decodeLeaseGrantResponse(buf: Buffer): LeaseGrantResponse {
  const res: LeaseGrantResponse = { id: "0", ttl: 0, error: "" };
  forEachField(buf, 0, buf.length, (field, wireType, at) => {
    if (wireType === WIRE_VARINT && field === 2) {
      const [value, next] = readVarint64(buf, at);
      res.id = BigInt.asIntN(64, value).toString();
      return next;
    }
    if (wireType === WIRE_VARINT && field === 3) {
      const [value, next] = readVarint(buf, at);
      res.ttl = value;
      return next;
    }
    if (wireType === WIRE_BYTES && field === 4) {
      const [s, e] = bytesAt(buf, at);
      res.error = buf.toString("utf8", s, e);
      return e;
    }
    return undefined;
  });
  return res;
}
