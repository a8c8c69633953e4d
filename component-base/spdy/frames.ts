// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 flow-control frames), as Kubernetes' streaming
// connections use it through moby/spdystream: kubectl port-forward (plain, or tunnelled in WebSocket binary
// messages) and the older exec/attach. Pure: bytes in, frames out; the header blocks' zlib context lives in the
// session (header-compression.ts), because both directions keep one compression context for the whole connection.
//
// Every frame has an 8-byte head. A control frame: bit 0 set, 15-bit version (3), 16-bit type, 8-bit flags, 24-bit
// length. A data frame: bit 0 clear, 31-bit stream id, 8-bit flags, 24-bit length. The length counts what follows.

export const SPDY_VERSION = 3;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** The control frame types (SPDY/3 §2.6; type 5, NOOP, was dropped in version 3). */
export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;

/** RST_STREAM status codes (SPDY/3 §2.6.3). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (SPDY/3 §2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** The largest payload a frame's 24-bit length can describe. */
export const MAX_FRAME_LENGTH = 0xffffff;

const HEAD_LENGTH = 8;
const STREAM_ID_MASK = 0x7fffffff;

/**
 * A decoded frame. Header blocks (`block`) stay compressed here; the session inflates them in arrival order.
 * Settings are id → value; a frame type this module does not know is kept as "unknown" so a peer may skip it.
 */
export type SpdyFrame =
  | { type: "data"; streamId: number; flags: number; data: Buffer }
  | { type: "syn_stream"; streamId: number; associatedStreamId: number; priority: number; flags: number; block: Buffer }
  | { type: "syn_reply"; streamId: number; flags: number; block: Buffer }
  | { type: "rst_stream"; streamId: number; status: number }
  | { type: "settings"; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: "ping"; id: number }
  | { type: "goaway"; lastGoodStreamId: number; status: number }
  | { type: "headers"; streamId: number; flags: number; block: Buffer }
  | { type: "window_update"; streamId: number; delta: number }
  | { type: "unknown"; controlType: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpdyProtocolError";
  }
}

function controlHead(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the 24-bit length`);
  const head = Buffer.alloc(HEAD_LENGTH);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return head;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([controlHead(type, flags, payload.length), payload]);
}

function uint32s(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, i * 4));
  return out;
}

export function encodeData(streamId: number, data: Uint8Array, flags = 0): Buffer {
  if (data.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`data frame of ${data.length} bytes exceeds the 24-bit length`);
  const head = Buffer.alloc(HEAD_LENGTH);
  head.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  head.writeUInt32BE(((flags & 0xff) << 24 | data.length) >>> 0, 4);
  return Buffer.concat([head, data]);
}

/** SYN_STREAM: stream id, associated stream id, 3-bit priority, an unused slot byte, then the header block. */
export function encodeSynStream(streamId: number, block: Buffer, options: { flags?: number; associatedStreamId?: number; priority?: number } = {}): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  fixed.writeUInt32BE((options.associatedStreamId ?? 0) & STREAM_ID_MASK, 4);
  fixed[8] = ((options.priority ?? 0) & 0x7) << 5;
  return control(SYN_STREAM, options.flags ?? 0, Buffer.concat([fixed, block]));
}

export function encodeSynReply(streamId: number, block: Buffer, flags = 0): Buffer {
  return control(SYN_REPLY, flags, Buffer.concat([uint32s(streamId & STREAM_ID_MASK), block]));
}

export function encodeHeaders(streamId: number, block: Buffer, flags = 0): Buffer {
  return control(HEADERS, flags, Buffer.concat([uint32s(streamId & STREAM_ID_MASK), block]));
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return control(RST_STREAM, 0, uint32s(streamId & STREAM_ID_MASK, status));
}

export function encodeSettings(entries: readonly { id: number; value: number; flags?: number }[], flags = 0): Buffer {
  const body = Buffer.alloc(4 + entries.length * 8);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    body.writeUInt32BE((((e.flags ?? 0) & 0xff) << 24 | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
    body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return control(SETTINGS, flags, body);
}

export function encodePing(id: number): Buffer {
  return control(PING, 0, uint32s(id));
}

export function encodeGoAway(lastGoodStreamId: number, status: number = GoAwayStatus.OK): Buffer {
  return control(GOAWAY, 0, uint32s(lastGoodStreamId & STREAM_ID_MASK, status));
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return control(WINDOW_UPDATE, 0, uint32s(streamId & STREAM_ID_MASK, delta & STREAM_ID_MASK));
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new SpdyProtocolError(`${what} frame of ${payload.length} bytes is too short`);
}

function decodeControl(type: number, flags: number, payload: Buffer): SpdyFrame {
  const u32 = (offset: number): number => payload.readUInt32BE(offset);
  switch (type) {
    case SYN_STREAM:
      need(payload, 10, "SYN_STREAM");
      return { type: "syn_stream", streamId: u32(0) & STREAM_ID_MASK, associatedStreamId: u32(4) & STREAM_ID_MASK, priority: payload[8]! >> 5, flags, block: payload.subarray(10) };
    case SYN_REPLY:
      need(payload, 4, "SYN_REPLY");
      return { type: "syn_reply", streamId: u32(0) & STREAM_ID_MASK, flags, block: payload.subarray(4) };
    case HEADERS:
      need(payload, 4, "HEADERS");
      return { type: "headers", streamId: u32(0) & STREAM_ID_MASK, flags, block: payload.subarray(4) };
    case RST_STREAM:
      need(payload, 8, "RST_STREAM");
      return { type: "rst_stream", streamId: u32(0) & STREAM_ID_MASK, status: u32(4) };
    case SETTINGS: {
      need(payload, 4, "SETTINGS");
      const count = u32(0);
      need(payload, 4 + count * 8, "SETTINGS");
      const entries = Array.from({ length: count }, (_, i) => {
        const idWord = u32(4 + i * 8);
        return { flags: idWord >>> 24, id: idWord & 0xffffff, value: u32(8 + i * 8) };
      });
      return { type: "settings", flags, entries };
    }
    case PING:
      need(payload, 4, "PING");
      return { type: "ping", id: u32(0) };
    case GOAWAY:
      need(payload, 8, "GOAWAY");
      return { type: "goaway", lastGoodStreamId: u32(0) & STREAM_ID_MASK, status: u32(4) };
    case WINDOW_UPDATE:
      need(payload, 8, "WINDOW_UPDATE");
      return { type: "window_update", streamId: u32(0) & STREAM_ID_MASK, delta: u32(4) & STREAM_ID_MASK };
    default:
      return { type: "unknown", controlType: type, flags, payload };
  }
}

/**
 * Reads whole frames from a byte stream whose chunks may split or join frames anywhere (a TCP socket, or a
 * WebSocket whose message boundaries carry no meaning). Throws SpdyProtocolError on a control frame of another
 * version, after which the connection cannot be resynchronised.
 */
export class SpdyFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): SpdyFrame[] {
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.buffered.length >= HEAD_LENGTH) {
      const word = this.buffered.readUInt32BE(0);
      const flagsAndLength = this.buffered.readUInt32BE(4);
      const length = flagsAndLength & 0xffffff;
      const flags = flagsAndLength >>> 24;
      if (this.buffered.length < HEAD_LENGTH + length) break;
      const payload = this.buffered.subarray(HEAD_LENGTH, HEAD_LENGTH + length);
      this.buffered = this.buffered.subarray(HEAD_LENGTH + length);
      if ((word & 0x80000000) === 0) {
        frames.push({ type: "data", streamId: word & STREAM_ID_MASK, flags, data: Buffer.from(payload) });
        continue;
      }
      const version = (word >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
      frames.push(decodeControl(word & 0xffff, flags, Buffer.from(payload)));
    }
    return frames;
  }
}

/** Header names and their values; SPDY joins several values of one name with NUL in a single entry. */
export type SpdyHeaders = Record<string, string[]>;

/**
 * The uncompressed name/value block (SPDY/3 §2.6.10): a 32-bit pair count, then per pair a 32-bit length and the
 * name (lower case, as the spec requires and Go's framer checks), a 32-bit length and the values joined by NUL.
 */
export function encodeHeaderBlock(headers: Readonly<Record<string, string | readonly string[]>>): Buffer {
  const parts: Buffer[] = [uint32s(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name.toLowerCase(), "utf8");
    const valueBytes = Buffer.from(typeof value === "string" ? value : value.join("\0"), "utf8");
    parts.push(uint32s(nameBytes.length), nameBytes, uint32s(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let offset = 0;
  const take = (what: string): Buffer => {
    if (offset + 4 > block.length) throw new SpdyProtocolError(`header block ends inside a ${what} length`);
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (offset + length > block.length) throw new SpdyProtocolError(`header block ends inside a ${what}`);
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  if (block.length < 4) throw new SpdyProtocolError("header block without a pair count");
  const count = block.readUInt32BE(0);
  offset = 4;
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = take("name").toString("utf8").toLowerCase();
    const values = take("value").toString("utf8").split("\0");
    if (name === "") throw new SpdyProtocolError("empty header name");
    headers[name] = [...(headers[name] ?? []), ...values];
  }
  return headers;
}

/**
 * The zlib dictionary every SPDY/3 header block is compressed with (§2.6.10.1): the length-prefixed words below,
 * then the literal tail. Both sides must prime zlib with exactly these bytes.
 */
const DICTIONARY_WORDS = [
  "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
  "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
  "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
  "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
  "proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
  "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK", "version",
  "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
];
const DICTIONARY_TAIL =
  "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
  "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden" +
  "404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
  "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
  "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
  "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

export const SPDY_HEADER_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((word) => [uint32s(word.length), Buffer.from(word, "latin1")]),
  Buffer.from(DICTIONARY_TAIL, "latin1"),
]);
