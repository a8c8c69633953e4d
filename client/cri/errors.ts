// CRI failures as gRPC status codes, the way runtimes report them and the kubelet branches on them: NOT_FOUND for
// an unknown sandbox, container or image id, INVALID_ARGUMENT for a malformed request, FAILED_PRECONDITION for a
// call the object's state does not allow (starting a container twice), UNIMPLEMENTED for what a backend cannot do,
// UNAVAILABLE/DEADLINE_EXCEEDED for a runtime that does not answer. The runtime's backends throw CriError; the
// client turns every gRPC error into one.
import { status } from "@grpc/grpc-js";

export { status as GrpcStatus };

export class CriError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CriError";
  }

  /** The status code's name (NOT_FOUND), for logs and messages. */
  get codeName(): string {
    return status[this.code];
  }
}

export function notFound(message: string): CriError {
  return new CriError(status.NOT_FOUND, message);
}

export function invalidArgument(message: string): CriError {
  return new CriError(status.INVALID_ARGUMENT, message);
}

export function failedPrecondition(message: string): CriError {
  return new CriError(status.FAILED_PRECONDITION, message);
}

export function unimplemented(message: string): CriError {
  return new CriError(status.UNIMPLEMENTED, message);
}

export function isCriError(err: unknown, code?: status): err is CriError {
  return err instanceof CriError && (code === undefined || err.code === code);
}

export function isNotFound(err: unknown): boolean {
  return isCriError(err, status.NOT_FOUND);
}

/** Any thrown value as a CriError: CriErrors as they are, a gRPC ServiceError by its code, the rest UNKNOWN. */
export function toCriError(err: unknown): CriError {
  if (err instanceof CriError) return err;
  if (err instanceof Error) {
    const code: unknown = Reflect.get(err, "code");
    const details: unknown = Reflect.get(err, "details");
    const known = grpcStatus(code);
    if (known !== undefined) return new CriError(known, typeof details === "string" && details !== "" ? details : err.message, { cause: err });
    return new CriError(status.UNKNOWN, err.message, { cause: err });
  }
  return new CriError(status.UNKNOWN, String(err));
}

/** A gRPC status code's Go name (codes.Code.String()): NOT_FOUND → NotFound. */
export function goCodeName(code: number): string {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  if (name === undefined) return `Code(${String(code)})`;
  if (name === "OK") return "OK";
  return name
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** status.Error's text: "rpc error: code = NotFound desc = …". */
export function rpcErrorText(code: number, message: string): string {
  return `rpc error: code = ${goCodeName(code)} desc = ${message}`;
}

function grpcStatus(code: unknown): status | undefined {
  for (const value of Object.values(status)) if (typeof value === "number" && value === code) return value;
  return undefined;
}
