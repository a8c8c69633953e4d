// Typed API errors. Everything a client sees as a failure is a StatusError turned into a meta/v1 Status body;
// code and reason follow k8s.io/apimachinery/pkg/api/errors.
import type { Status, StatusCause, StatusDetails, StatusReason } from "./meta.js";

export class StatusError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StatusError";
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const status: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, code: this.code };
    if (this.reason === "") delete status.reason;
    if (this.details) status.details = this.details;
    return status;
  }
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

/** 404: the object (or the resource) is not there. */
export function isNotFound(err: unknown): boolean {
  return isStatusError(err) && (err.reason === "NotFound" || err.code === 404);
}

/** 409 Conflict: a write conditional on a resourceVersion (or a precondition) met a newer object. */
export function isConflict(err: unknown): boolean {
  return isStatusError(err) && err.reason === "Conflict";
}

/** 409 AlreadyExists: a create found an object of that name. */
export function isAlreadyExists(err: unknown): boolean {
  return isStatusError(err) && err.reason === "AlreadyExists";
}

/** 410 Expired or Gone: a resourceVersion (a watch start, a continue token) older than what etcd still holds. */
export function isExpired(err: unknown): boolean {
  return isStatusError(err) && (err.code === 410 || err.reason === "Expired" || err.reason === "Gone");
}

export interface RetryOnConflictOptions {
  /** How many times `write` runs at most (default 5, as client-go's DefaultRetry). */
  attempts?: number;
  /** Which failures are worth another attempt (default isConflict). */
  retriable?: (err: unknown) => boolean;
}

/**
 * client-go's RetryOnConflict: runs `write` until it succeeds, fails with an error that is not retriable, or has
 * run `attempts` times; then the last error is thrown. `write` gets the error of the attempt before it (undefined
 * the first time), so that it can read the object fresh before writing again. There is no delay between attempts:
 * a conflict means someone else wrote, and the fresh read already reflects that.
 */
export async function retryOnConflict<T>(write: (previous: unknown) => Promise<T>, opts: RetryOnConflictOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const retriable = opts.retriable ?? isConflict;
  let previous: unknown = undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(previous);
    } catch (err) {
      if (attempt >= attempts || !retriable(err)) throw err;
      previous = err;
    }
  }
}

/** `err` if it is an Error, else an Error carrying its text (for rethrowing what a catch or a rejection gave). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The text of what a catch or a rejection gave: an Error's message, anything else as a string (for log fields). */
export function errorMessage(err: unknown): string {
  return toError(err).message;
}

/** `qualified` is `pods` or `deployments.apps` (see qualifiedResource). */
export function notFound(qualified: string, name: string): StatusError {
  return new StatusError(404, "NotFound", `${qualified} "${name}" not found`, { name, ...groupKind(qualified) });
}

export function alreadyExists(qualified: string, name: string): StatusError {
  return new StatusError(409, "AlreadyExists", `${qualified} "${name}" already exists`, { name, ...groupKind(qualified) });
}

export function conflict(qualified: string, name: string, why = "the object has been modified; please apply your changes to the latest version and try again"): StatusError {
  return new StatusError(409, "Conflict", `Operation cannot be fulfilled on ${qualified} "${name}": ${why}`, { name, ...groupKind(qualified) });
}

/** A field-level validation failure; `type` is the cause reason (FieldValueRequired, FieldValueInvalid, ...). */
export interface FieldError {
  type: FieldErrorType;
  field: string;
  message: string;
}

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueNotFound"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany";

/** 422 Invalid: `The Pod "x" is invalid: spec.containers[0].image: Required value`. */
export function invalid(kind: string, group: string, name: string, errors: readonly FieldError[]): StatusError {
  const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join(", ");
  const message = `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${errors.length > 1 ? `[${summary}]` : summary}`;
  return new StatusError(422, "Invalid", message, { name, group, kind, causes });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, "BadRequest", message);
}

export function methodNotAllowed(message: string): StatusError {
  return new StatusError(405, "MethodNotAllowed", message);
}

/** 415 for a body in a format no decoder reads; like Kubernetes, the Status carries no details. */
export function unsupportedMediaType(): StatusError {
  return new StatusError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

export function requestEntityTooLarge(limitBytes: number): StatusError {
  return new StatusError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limitBytes}`);
}

export function expired(message: string): StatusError {
  return new StatusError(410, "Expired", message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, "Gone", message);
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, "ServiceUnavailable", message);
}

export function timeout(message: string): StatusError {
  return new StatusError(504, "Timeout", message);
}

export function internalError(message: string, cause?: unknown): StatusError {
  return new StatusError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] }, { cause });
}

export function forbidden(qualified: string, name: string, why: string): StatusError {
  return new StatusError(403, "Forbidden", `${qualified} "${name}" is forbidden: ${why}`, { name, ...groupKind(qualified) });
}

function groupKind(qualified: string): { kind: string; group?: string } {
  const dot = qualified.indexOf(".");
  return dot < 0 ? { kind: qualified } : { kind: qualified.slice(0, dot), group: qualified.slice(dot + 1) };
}
