// The zlib contexts of a SPDY/3 connection's header blocks. Each direction keeps one deflate (or inflate) stream
// primed with the SPDY dictionary for the connection's whole life, and every block ends with a sync flush, so a
// block can only be read after all the blocks sent before it: calls must be made, and awaited, in frame order.
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import { decodeHeaderBlock, encodeHeaderBlock, SPDY_HEADER_DICTIONARY, SpdyProtocolError, type SpdyHeaders } from "./frames.js";

/** Runs one input through a long-lived zlib stream, returning what the sync flush made of it. */
function flushThrough(stream: Deflate | Inflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    const onError = (err: Error): void => {
      stream.off("data", onData);
      reject(err);
    };
    stream.on("data", onData);
    stream.once("error", onError);
    stream.write(input);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off("data", onData);
      stream.off("error", onError);
      resolve(Buffer.concat(chunks));
    });
  });
}

export class HeaderCompressor {
  private readonly deflate = createDeflate({ dictionary: SPDY_HEADER_DICTIONARY });

  compress(headers: Readonly<Record<string, string | readonly string[]>>): Promise<Buffer> {
    return flushThrough(this.deflate, encodeHeaderBlock(headers));
  }

  close(): void {
    this.deflate.close();
  }
}

export class HeaderDecompressor {
  private readonly inflate = createInflate({ dictionary: SPDY_HEADER_DICTIONARY });

  async decompress(block: Buffer): Promise<SpdyHeaders> {
    let raw: Buffer;
    try {
      raw = await flushThrough(this.inflate, block);
    } catch (err) {
      throw new SpdyProtocolError(`header block does not decompress: ${err instanceof Error ? err.message : String(err)}`);
    }
    return decodeHeaderBlock(raw);
  }

  close(): void {
    this.inflate.close();
  }
}
