// Error and success bodies as meta/v1 Status objects. Every non-2xx reply the apiserver sends goes through
// sendStatus, so clients always see `kind: Status, status: Failure` with a reason and code: kubectl only
// prints "Error from server (<reason>): <message>" when the body decodes as such a Status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { internalError, isStatusError } from "../../api/errors.js";
import type { Status, StatusDetails } from "../../api/meta.js";
import { PROTOBUF_MEDIA_TYPE, negotiateReply, toYamlText } from "./negotiate.js";
import { encodeProtobufObject } from "./protobuf.js";

/**
 * The Status for any thrown value. A StatusError keeps its code, reason and details; anything else is a 500
 * InternalError with a fixed message, so stack traces, file paths and etcd endpoints never reach a client. Callers
 * should log the original error themselves.
 */
export function toStatus(err: unknown): Status {
  if (isStatusError(err)) return err.toStatus();
  return internalError("an error on the server prevented the request from succeeding").toStatus();
}

/**
 * Writes `err` as a Status reply. Safe to call at any point: when headers have already gone out (a watch or log
 * stream that failed half-way) the response is ended instead, since a second status line cannot be sent.
 * A 413 also closes the connection: the rest of an oversized body was never read, and reusing the socket would
 * make the next request start in the middle of it.
 */
export function sendStatus(res: ServerResponse, err: unknown): void {
  const status = toStatus(err);
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  // The Status is in the encoding the client asked for (YAML, protobuf), as Kubernetes answers it. A 406 is never
  // protobuf: for a custom resource it says that protobuf is what could not be agreed (a YAML watch's 406 is YAML).
  const form = negotiateReply((res.req as IncomingMessage | undefined)?.headers.accept, true);
  const negotiated = form === undefined || "as" in form ? "json" : form.encoding;
  const encoding = negotiated === "protobuf" && status.code === 406 ? "json" : negotiated;
  const body = encoding === "yaml" ? toYamlText(status) : encoding === "protobuf" ? encodeProtobufObject({ ...status, apiVersion: "v1" }) : undefined;
  const bytes = body ?? JSON.stringify(status);
  res.statusCode = status.code ?? 500;
  res.setHeader("Content-Type", encoding === "yaml" ? "application/yaml" : body !== undefined ? PROTOBUF_MEDIA_TYPE : "application/json");
  res.setHeader("Content-Length", Buffer.byteLength(bytes));
  res.setHeader("Cache-Control", "no-cache, private");
  if (status.code === 413) res.setHeader("Connection", "close");
  res.end(bytes);
}

/**
 * The Success Status returned by a DELETE that removed the object at once (what kubectl prints as `<kind> "<name>" deleted`):
 * `{kind: Status, status: Success, details: {name, group, kind, uid}}`, with no code (as Kubernetes writes it).
 */
export function statusSuccess(details?: StatusDetails): Status {
  const status: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" };
  if (details !== undefined) status.details = details;
  return status;
}
