// DNS over TCP frames each message with its length as two bytes, big-endian (RFC 1035 4.2.2, RFC 7766).

/** `message` with its length prefix. */
export function tcpFrame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length, 0);
  return Buffer.concat([length, message]);
}

/** Splits a TCP byte stream into messages, however the chunks fall. */
export class TcpFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The messages completed by `chunk`. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + length) break;
      messages.push(this.pending.subarray(2, 2 + length));
      this.pending = this.pending.subarray(2 + length);
    }
    return messages;
  }
}
