// HPACK (RFC 7541) for the apiserver's HTTP/2 client to etcd (h2-connection.ts): a complete decoder — static and
// dynamic table with size updates and eviction, prefixed integers, literal and Huffman-coded strings — because etcd's
// Go server indexes and Huffman-codes its response headers and trailers; and the little encoding a gRPC client needs:
// literals without indexing (static-table name indices where there is one), never Huffman, so that the constant part
// of a request's header block can be built once. Strings are octets: they are read and written as latin1, one
// character per octet, so that the table's size accounting (octets + 32 per entry) is each string's length.

/** A header list as decoded: names and values alternating ([name0, value0, name1, value1, …]). */
export type HeaderList = string[];

/** A malformed header block: a connection error (COMPRESSION_ERROR) for the HTTP/2 layer. */
export class HpackError extends Error {}

/** RFC 7541 Appendix A; index 1 is the first entry. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** The code length in bits of each symbol 0–255 and EOS (256) in HPACK's Huffman code (RFC 7541 Appendix B). */
// prettier-ignore
const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
const MAX_CODE_LENGTH = 30;

/**
 * The canonical Huffman code as decoding tables: HPACK's code is canonical (codes of each length are consecutive,
 * in symbol order, after all shorter codes), so a code of length L is symbol SYMBOLS[OFFSET[L] + code − FIRST[L]]
 * when code − FIRST[L] < COUNT[L].
 */
class HuffmanTables {
  readonly first = new Int32Array(MAX_CODE_LENGTH + 1);
  readonly count = new Int32Array(MAX_CODE_LENGTH + 1);
  readonly offset = new Int32Array(MAX_CODE_LENGTH + 1);
  readonly symbols: Uint16Array;

  constructor(lengths: readonly number[]) {
    for (const length of lengths) this.count[length] = (this.count[length] ?? 0) + 1;
    this.symbols = new Uint16Array(lengths.length);
    let code = 0;
    let offset = 0;
    for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
      code <<= 1;
      this.first[length] = code;
      this.offset[length] = offset;
      const n = this.count[length] ?? 0;
      code += n;
      offset += n;
    }
    const next = Int32Array.from(this.offset);
    lengths.forEach((length, symbol) => {
      const at = next[length] ?? 0;
      this.symbols[at] = symbol;
      next[length] = at + 1;
    });
  }
}

const HUFFMAN = new HuffmanTables(HUFFMAN_CODE_LENGTHS);

/** Decodes a Huffman-coded string (RFC 7541 5.2): at most 7 bits of padding, all ones (EOS's prefix); no EOS. */
export function decodeHuffman(buf: Buffer, start: number, end: number): string {
  const { first, count, offset, symbols } = HUFFMAN;
  let out = "";
  let code = 0;
  let length = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] ?? 0;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      length++;
      const index = code - (first[length] ?? 0);
      if (index < (count[length] ?? 0)) {
        const symbol = symbols[(offset[length] ?? 0) + index] ?? EOS;
        if (symbol === EOS) throw new HpackError("Huffman-coded string holds EOS");
        out += String.fromCharCode(symbol);
        code = 0;
        length = 0;
      } else if (length >= MAX_CODE_LENGTH) {
        throw new HpackError("invalid Huffman code");
      }
    }
  }
  if (length > 7 || code !== (1 << length) - 1) throw new HpackError("Huffman-coded string has invalid padding");
  return out;
}

/** What the decoder holds between blocks (so that it keeps no block alive). */
const NO_BLOCK = Buffer.alloc(0);

/** The header table size this client announces (the SETTINGS default): the most etcd's encoder may use. */
export const HEADER_TABLE_SIZE = 4096;

/** One connection's HPACK decoding state (its dynamic table); decode every header block of the connection in order. */
export class HpackDecoder {
  /** The dynamic table, oldest first (so dynamic index 1, the newest, is the last element). */
  private names: string[] = [];
  private values: string[] = [];
  private size = 0;
  private maxSize = HEADER_TABLE_SIZE;
  private pos = 0;
  private buf: Buffer = NO_BLOCK;

  /** Decodes one complete header block (HEADERS and CONTINUATION fragments joined). Throws HpackError. */
  decode(block: Buffer): HeaderList {
    this.buf = block;
    this.pos = 0;
    const out: HeaderList = [];
    let fieldSeen = false;
    while (this.pos < block.length) {
      const b = block[this.pos] ?? 0;
      if (b & 0x80) {
        // Indexed header field.
        const index = this.integer(7);
        if (index === 0) throw new HpackError("index 0");
        out.push(this.nameAt(index), this.valueAt(index));
        fieldSeen = true;
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const nameIndex = this.integer(6);
        const name = nameIndex === 0 ? this.string() : this.nameAt(nameIndex);
        const value = this.string();
        this.add(name, value);
        out.push(name, value);
        fieldSeen = true;
      } else if (b & 0x20) {
        // Dynamic table size update: only at the start of a block.
        if (fieldSeen) throw new HpackError("dynamic table size update after a header field");
        const size = this.integer(5);
        if (size > HEADER_TABLE_SIZE) throw new HpackError(`dynamic table size ${size} above the ${HEADER_TABLE_SIZE} allowed`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const nameIndex = this.integer(4);
        const name = nameIndex === 0 ? this.string() : this.nameAt(nameIndex);
        out.push(name, this.string());
        fieldSeen = true;
      }
    }
    this.buf = NO_BLOCK;
    return out;
  }

  /** The dynamic table's size in HPACK octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  private nameAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![0];
    const name = this.names[this.names.length - (index - STATIC_TABLE.length)];
    if (name === undefined) throw new HpackError(`index ${index} beyond the table`);
    return name;
  }

  private valueAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]![1];
    const value = this.values[this.values.length - (index - STATIC_TABLE.length)];
    if (value === undefined) throw new HpackError(`index ${index} beyond the table`);
    return value;
  }

  private add(name: string, value: string): void {
    const entrySize = name.length + value.length + 32;
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    this.evict(entrySize);
    if (entrySize > this.maxSize) return;
    this.names.push(name);
    this.values.push(value);
    this.size += entrySize;
  }

  /** Evicts the oldest entries until `room` more octets fit (all of them when they cannot). */
  private evict(room: number): void {
    let n = 0;
    while (this.size + room > this.maxSize && n < this.names.length) {
      this.size -= (this.names[n] ?? "").length + (this.values[n] ?? "").length + 32;
      n++;
    }
    if (n > 0) {
      this.names.splice(0, n);
      this.values.splice(0, n);
    }
  }

  /** A prefixed integer (RFC 7541 5.1) whose first octet keeps `prefixBits` low bits. */
  private integer(prefixBits: number): number {
    const buf = this.buf;
    const mask = (1 << prefixBits) - 1;
    let value = (buf[this.pos++] ?? 0) & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= buf.length) throw new HpackError("truncated integer");
      const b = buf[this.pos++] ?? 0;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError("integer too large");
    }
    return value;
  }

  private string(): string {
    if (this.pos >= this.buf.length) throw new HpackError("truncated string");
    const huffman = ((this.buf[this.pos] ?? 0) & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.buf.length) throw new HpackError("truncated string");
    this.pos = end;
    return huffman ? decodeHuffman(this.buf, start, end) : this.buf.toString("latin1", start, end);
  }
}

/** The static table index of a name (the first entry with it), or 0. */
function staticNameIndex(name: string): number {
  return STATIC_TABLE.findIndex(([n]) => n === name) + 1;
}

/** Appends a prefixed integer to `out` (RFC 7541 5.1); `flags` are the first octet's bits above the prefix. */
function pushInteger(out: number[], flags: number, prefixBits: number, value: number): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(flags | value);
    return;
  }
  out.push(flags | mask);
  let rest = value - mask;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/**
 * Encodes header fields as literals without indexing (static-table name indices where the name has one), strings
 * raw: an encoding that needs no state, so a block can be built once and reused, and blocks concatenated.
 * Names must be lower case; values are written as latin1.
 */
export function encodeLiteralHeaders(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const nameIndex = staticNameIndex(name);
    pushInteger(out, 0x00, 4, nameIndex);
    if (nameIndex === 0) pushString(out, name);
    pushString(out, value);
  }
  return Buffer.from(out);
}

/** An indexed field of the static table (RFC 7541 6.1), for exact name-value pairs there (":method: POST"). */
export function encodeStaticIndexed(name: string, value: string): Buffer {
  const index = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value) + 1;
  if (index === 0) throw new Error(`${name}: ${value} is not in HPACK's static table`);
  return Buffer.from([0x80 | index]);
}

function pushString(out: number[], value: string): void {
  const bytes = Buffer.from(value, "latin1");
  pushInteger(out, 0x00, 7, bytes.length);
  for (const b of bytes) out.push(b);
}
