// Reading request bodies with Kubernetes' size limit. The apiserver refuses bodies over 3 MiB with
// 413 RequestEntityTooLarge (k8s.io/apiserver's MaxRequestBodyBytes default), which also keeps one client from
// buffering unbounded memory in the server.
import type { IncomingMessage } from "node:http";
import { badRequest, requestEntityTooLarge } from "../../api/errors.js";

/** 3 MiB, Kubernetes' default request body limit. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Reads the whole body of `req`. Rejects with a 413 StatusError when the declared Content-Length or the bytes
 * actually received exceed `limitBytes`: Content-Length is only an early hint, since chunked bodies have none
 * and a client may lie. After a 413 the stream is left paused, so reply with sendStatus (which closes the
 * connection) rather than reusing the socket. Rejects with 400 when the client aborts mid-body.
 * The body must not have been consumed by middleware (no express.json() in front of this).
 */
export function readBody(req: IncomingMessage, limitBytes: number = MAX_REQUEST_BODY_BYTES): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limitBytes) {
      req.pause();
      reject(requestEntityTooLarge(limitBytes));
      return;
    }
    if (req.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      received += buf.length;
      if (received > limitBytes) {
        req.pause();
        fail(requestEntityTooLarge(limitBytes));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onError = (err: Error): void => {
      fail(badRequest(`error reading request body: ${err.message}`));
    };
    const onAborted = (): void => {
      fail(badRequest("the client closed the connection before sending the whole request body"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
