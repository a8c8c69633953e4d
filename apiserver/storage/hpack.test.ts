// HPACK pieces on their own: Huffman strings of RFC 7541's examples, malformed input, the dynamic table's
// accounting, and the literal encoding read back by the decoder. The decoder against a real encoder (nghttp2, through
// a node:http2 server) is in h2-connection.test.ts.
import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackError, decodeHuffman, encodeLiteralHeaders, encodeStaticIndexed } from "./hpack.js";

function huffman(hex: string): string {
  const buf = Buffer.from(hex, "hex");
  return decodeHuffman(buf, 0, buf.length);
}

describe("decodeHuffman (RFC 7541 Appendix B)", () => {
  it("decodes the RFC's examples (C.4, C.6)", () => {
    expect(huffman("f1e3c2e5f23a6ba0ab90f4ff")).toBe("www.example.com");
    expect(huffman("a8eb10649cbf")).toBe("no-cache");
    expect(huffman("25a849e95ba97d7f")).toBe("custom-key");
    expect(huffman("25a849e95bb8e8b4bf")).toBe("custom-value");
    expect(huffman("6402")).toBe("302");
    expect(huffman("aec3771a4b")).toBe("private");
    expect(huffman("d07abe941054d444a8200595040b8166e082a62d1bff")).toBe("Mon, 21 Oct 2013 20:13:21 GMT");
    expect(huffman("9d29ad171863c78f0b97c8e9ae82ae43d3")).toBe("https://www.example.com");
    expect(huffman("")).toBe("");
  });

  it("refuses padding that is not EOS's prefix, padding of 8 bits or more, and EOS itself", () => {
    // "0" is 00000 (5 bits); padding 000 is not all ones.
    expect(() => huffman("00")).toThrow(HpackError);
    // "0" then 111 padding is right; a whole extra 0xff byte is too much padding.
    expect(huffman("07")).toBe("0");
    expect(() => huffman("07ff")).toThrow(HpackError);
    // EOS: 30 ones.
    expect(() => huffman("fffffffc")).toThrow(HpackError);
  });
});

describe("HpackDecoder", () => {
  it("reads indexed fields, literals with and without indexing, and grows then evicts the dynamic table", () => {
    const decoder = new HpackDecoder();
    // C.3.1: GET http / www.example.com (literal with incremental indexing of :authority, raw).
    expect(decoder.decode(Buffer.from("828684410f7777772e6578616d706c652e636f6d", "hex"))).toEqual([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"]);
    expect(decoder.tableSize).toBe(57);
    // C.4.2 (Huffman): the indexed :authority (62) and a new cache-control: no-cache.
    expect(decoder.decode(Buffer.from("828684be5886a8eb10649cbf", "hex"))).toEqual([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"]);
    expect(decoder.tableSize).toBe(110);
    // A size update to 60 octets at the start of a block keeps only the newest entry that fits (none of 57+53 > 60: the newest, 53).
    expect(decoder.decode(Buffer.from("3f1d", "hex"))).toEqual([]);
    expect(decoder.tableSize).toBe(53);
    expect(decoder.decode(Buffer.from("be", "hex"))).toEqual(["cache-control", "no-cache"]);
    expect(() => decoder.decode(Buffer.from("bf", "hex"))).toThrow(HpackError);
  });

  it("refuses index 0, a size update above 4096 or after a field, and truncated input", () => {
    expect(() => new HpackDecoder().decode(Buffer.from("80", "hex"))).toThrow("index 0");
    expect(() => new HpackDecoder().decode(Buffer.from("3fe21f", "hex"))).toThrow("above");
    expect(() => new HpackDecoder().decode(Buffer.from("8220", "hex"))).toThrow("after a header field");
    expect(() => new HpackDecoder().decode(Buffer.from("4005", "hex"))).toThrow("truncated");
    expect(() => new HpackDecoder().decode(Buffer.from("ff", "hex"))).toThrow("truncated");
  });

  it("reads back the client's own encoding (static name indices, new names, long values, latin1)", () => {
    const long = "x".repeat(300);
    const block = Buffer.concat([
      encodeStaticIndexed(":method", "POST"),
      encodeLiteralHeaders([
        [":path", "/etcdserverpb.KV/Range"],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["x-long", long],
        ["x-latin1", "é ü ÿ"],
      ]),
    ]);
    const decoder = new HpackDecoder();
    expect(decoder.decode(block)).toEqual([":method", "POST", ":path", "/etcdserverpb.KV/Range", "content-type", "application/grpc", "te", "trailers", "x-long", long, "x-latin1", "é ü ÿ"]);
    expect(decoder.tableSize).toBe(0);
    expect(() => encodeStaticIndexed(":method", "PUT")).toThrow();
  });
});
