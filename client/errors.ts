// Errors the client raises besides the server's own StatusErrors. Callers branch on the class and on
// StatusError.reason/code, never on message text.
import { errorMessage, StatusError } from "../api/errors.js";
import { isRecord, type Status, type StatusCause, type StatusDetails, type StatusReason } from "../api/meta.js";

/** The request never got an HTTP answer: refused, reset, DNS, TLS, timeout. Safe to retry with backoff. */
export class ConnectionError extends Error {
  /** The errno-style code when there was one: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ... */
  readonly code: string | undefined;
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, cause: unknown) {
    const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
    const detail = errorMessage(cause);
    super(`${method} ${url}: ${detail}`, { cause });
    this.name = "ConnectionError";
    this.code = code;
    this.method = method;
    this.url = url;
  }
}

export function isConnectionError(err: unknown): err is ConnectionError {
  return err instanceof ConnectionError;
}

/**
 * 410: the requested resourceVersion (or continue token) is older than the server keeps. A StatusError whose
 * reason stays what the server sent (Expired or Gone); informers answer it with a fresh list.
 */
export class ExpiredError extends StatusError {
  constructor(message: string, reason: StatusReason = "Expired", details?: StatusDetails) {
    super(410, reason, message, details);
    this.name = "ExpiredError";
  }
}

const REASONS: ReadonlySet<string> = new Set<StatusReason>([
  "BadRequest",
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "AlreadyExists",
  "Conflict",
  "Gone",
  "Expired",
  "Invalid",
  "ServerTimeout",
  "Timeout",
  "TooManyRequests",
  "MethodNotAllowed",
  "NotAcceptable",
  "RequestEntityTooLarge",
  "UnsupportedMediaType",
  "InternalError",
  "ServiceUnavailable",
]);

/** Narrows a decoded body to a meta/v1 Status (kind Status; apiVersion defaults to v1, as kubectl assumes). */
export function asStatus(body: unknown): Status | undefined {
  if (!isRecord(body) || body.kind !== "Status") return undefined;
  const code = typeof body.code === "number" ? body.code : 0;
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: isRecord(body.metadata) ? body.metadata : {},
    status: body.status === "Success" ? "Success" : "Failure",
    code,
  };
  if (typeof body.message === "string") status.message = body.message;
  if (isStatusReason(body.reason)) status.reason = body.reason;
  const details = asDetails(body.details);
  if (details) status.details = details;
  return status;
}

function isStatusReason(value: unknown): value is StatusReason {
  return typeof value === "string" && REASONS.has(value);
}

function asDetails(value: unknown): StatusDetails | undefined {
  if (!isRecord(value)) return undefined;
  const details: StatusDetails = {};
  for (const key of ["name", "group", "kind", "uid"] as const) {
    const v = value[key];
    if (typeof v === "string") details[key] = v;
  }
  if (typeof value.retryAfterSeconds === "number") details.retryAfterSeconds = value.retryAfterSeconds;
  if (Array.isArray(value.causes)) {
    details.causes = value.causes.filter(isRecord).map((c) => {
      const cause: StatusCause = {};
      if (typeof c.reason === "string") cause.reason = c.reason;
      if (typeof c.message === "string") cause.message = c.message;
      if (typeof c.field === "string") cause.field = c.field;
      return cause;
    });
  }
  return details;
}

/** The reason client-go's NewGenericServerResponse derives from a bare HTTP code. */
export function reasonForCode(code: number): StatusReason {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "BadRequest";
  }
}

/** A StatusError (ExpiredError for 410) carrying the Status' code, reason, message and details. */
export function statusErrorFrom(status: Status, fallbackCode = 500): StatusError {
  const code = status.code !== undefined && status.code !== 0 ? status.code : fallbackCode;
  const reason = status.reason ?? reasonForCode(code);
  const message = status.message ?? `the server responded with ${code} ${reason}`;
  if (code === 410 || reason === "Expired" || reason === "Gone") return new ExpiredError(message, reason, status.details);
  return new StatusError(code, reason, message, status.details);
}

const GENERIC_MESSAGES: Partial<Record<StatusReason, string>> = {
  NotFound: "the server could not find the requested resource",
  Conflict: "the server reported a conflict",
  Unauthorized: "the server has asked for the client to provide credentials",
  Forbidden: "the server does not allow access to the requested resource",
  MethodNotAllowed: "the server does not allow this method on the requested resource",
  Invalid: "the server rejected our request due to an error in our request",
  TooManyRequests: "the server has received too many requests and has asked us to try again later",
  ServiceUnavailable: "the server is currently unable to handle the request",
  Timeout: "the server was unable to return a response in the time allotted, but may still be processing the request",
};

/** For a non-2xx reply whose body is not a Status: client-go's generic wording ("... (get pods web)"). */
export function genericResponseError(code: number, verb: string, what: string, bodyText: string): StatusError {
  const reason = reasonForCode(code);
  const message =
    GENERIC_MESSAGES[reason] ??
    (reason === "InternalError"
      ? `an error on the server (${JSON.stringify(bodyText.slice(0, 1024))}) has prevented the request from succeeding`
      : "the server rejected our request for an unknown reason");
  const full = `${message} (${verb.toLowerCase()} ${what})`;
  return code === 410 ? new ExpiredError(full, "Gone") : new StatusError(code, reason, full);
}
