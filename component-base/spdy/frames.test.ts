import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decodeHeaderBlock,
  encodeData,
  encodeGoAway,
  encodeHeaderBlock,
  encodeHeaders,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FLAG_FIN,
  SPDY_HEADER_DICTIONARY,
  SpdyFrameReader,
  SpdyProtocolError,
} from "./frames.js";
import { HeaderCompressor, HeaderDecompressor } from "./header-compression.js";

/** RFC 1950's Adler-32, which a zlib stream primed with a dictionary names in its header (FDICT). */
function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

describe("SPDY/3.1 frames", () => {
  it("lays out control and data frame heads as the spec draws them", () => {
    // PING id 7: control bit + version 3, type 6, flags 0, length 4, then the id.
    expect(encodePing(7).toString("hex")).toBe("80030006" + "00000004" + "00000007");
    // DATA on stream 5 with FIN and 2 bytes: the stream id with bit 0 clear, flags 0x01, length 2.
    expect(encodeData(5, Buffer.from("hi"), FLAG_FIN).toString("hex")).toBe("00000005" + "01000002" + "6869");
    // RST_STREAM stream 3 CANCEL (5).
    expect(encodeRstStream(3, 5).toString("hex")).toBe("80030003" + "00000008" + "00000003" + "00000005");
    // SYN_STREAM stream 1, no association, priority 0, then the block.
    expect(encodeSynStream(1, Buffer.from([0xaa]), { priority: 7 }).toString("hex")).toBe("80030001" + "0000000b" + "00000001" + "00000000" + "e000" + "aa");
  });

  it("decodes what it encodes, however the bytes are split", () => {
    const frames = [
      encodeSynStream(1, Buffer.from("block"), { flags: FLAG_FIN, priority: 2 }),
      encodeSynReply(1, Buffer.from("reply")),
      encodeHeaders(3, Buffer.from("more"), FLAG_FIN),
      encodeData(1, Buffer.from("payload")),
      encodeData(1, Buffer.alloc(0), FLAG_FIN),
      encodeRstStream(3, 3),
      encodeSettings([{ id: 7, value: 65536, flags: 1 }]),
      encodePing(2),
      encodeGoAway(9, 1),
      encodeWindowUpdate(1, 1024),
    ];
    const bytes = Buffer.concat(frames);
    for (const step of [1, 3, 8, bytes.length]) {
      const reader = new SpdyFrameReader();
      const decoded = [];
      for (let i = 0; i < bytes.length; i += step) decoded.push(...reader.push(bytes.subarray(i, i + step)));
      expect(decoded).toEqual([
        { type: "syn_stream", streamId: 1, associatedStreamId: 0, priority: 2, flags: FLAG_FIN, block: Buffer.from("block") },
        { type: "syn_reply", streamId: 1, flags: 0, block: Buffer.from("reply") },
        { type: "headers", streamId: 3, flags: FLAG_FIN, block: Buffer.from("more") },
        { type: "data", streamId: 1, flags: 0, data: Buffer.from("payload") },
        { type: "data", streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) },
        { type: "rst_stream", streamId: 3, status: 3 },
        { type: "settings", flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
        { type: "ping", id: 2 },
        { type: "goaway", lastGoodStreamId: 9, status: 1 },
        { type: "window_update", streamId: 1, delta: 1024 },
      ]);
    }
  });

  it("refuses a control frame of another SPDY version", () => {
    const frame = encodePing(1);
    frame.writeUInt16BE(0x8002, 0);
    expect(() => new SpdyFrameReader().push(frame)).toThrow(SpdyProtocolError);
  });

  it("writes name/value blocks with 32-bit lengths, lower-case names and NUL-joined values", () => {
    const block = encodeHeaderBlock({ StreamType: "data", accept: ["a", "b"] });
    expect(block.toString("hex")).toBe(
      "00000002" + "0000000a" + Buffer.from("streamtype").toString("hex") + "00000004" + Buffer.from("data").toString("hex") +
        "00000006" + Buffer.from("accept").toString("hex") + "00000003" + "610062",
    );
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ["data"], accept: ["a", "b"] });
    expect(() => decodeHeaderBlock(block.subarray(0, 10))).toThrow(SpdyProtocolError);
  });

  it("holds the SPDY/3 dictionary: 1423 bytes, starting with the length-prefixed \"options\" and ending \"enq=0.\"", () => {
    expect(SPDY_HEADER_DICTIONARY.length).toBe(1423);
    expect(SPDY_HEADER_DICTIONARY.subarray(0, 11).toString("hex")).toBe("00000007" + Buffer.from("options").toString("hex"));
    expect(SPDY_HEADER_DICTIONARY.subarray(-6).toString("latin1")).toBe("enq=0.");
  });
});

describe("SPDY header compression", () => {
  it("names the dictionary in the zlib header and keeps one context across blocks", async () => {
    const compressor = new HeaderCompressor();
    const first = await compressor.compress({ streamtype: "error", port: "80", requestid: "0" });
    // RFC 1950: CMF 0x78, FLG with FDICT (0x20) set, then the dictionary's Adler-32.
    expect(first[0]).toBe(0x78);
    expect((first[1]! & 0x20) !== 0).toBe(true);
    expect(((first[0]! << 8) | first[1]!) % 31).toBe(0);
    expect(first.readUInt32BE(2)).toBe(adler32(SPDY_HEADER_DICTIONARY));
    // A sync flush ends every block with an empty stored block.
    expect(first.subarray(-4).toString("hex")).toBe("0000ffff");
    const second = await compressor.compress({ streamtype: "data", port: "80", requestid: "0" });
    // The second block continues the stream: no zlib header, and much shorter thanks to the first.
    expect(second[0]).not.toBe(0x78);
    expect(second.length).toBeLessThan(first.length);

    // zlib alone, given the dictionary, reads the first block back.
    expect(decodeHeaderBlock(inflateSync(first, { dictionary: SPDY_HEADER_DICTIONARY, finishFlush: 2 }))).toEqual({ streamtype: ["error"], port: ["80"], requestid: ["0"] });

    const decompressor = new HeaderDecompressor();
    expect(await decompressor.decompress(first)).toEqual({ streamtype: ["error"], port: ["80"], requestid: ["0"] });
    expect(await decompressor.decompress(second)).toEqual({ streamtype: ["data"], port: ["80"], requestid: ["0"] });
    expect(await decompressor.decompress(await compressor.compress({}))).toEqual({});
    compressor.close();
    decompressor.close();
  });

  it("reports a block that is not zlib as a protocol error", async () => {
    const decompressor = new HeaderDecompressor();
    await expect(decompressor.decompress(Buffer.from("not zlib at all"))).rejects.toThrow(SpdyProtocolError);
    decompressor.close();
  });
});
