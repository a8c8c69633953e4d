// What one run of a probe handler answers, and the Go-shaped texts Kubernetes puts in its Unhealthy events (a
// kubelet's events read the same here: "dial tcp 10.244.1.5:8080: connect: connection refused").

/**
 * Success, Failure, or Warning (success with something to report, e.g. an HTTP redirect to another host); output
 * is what the event quotes. A handler that cannot run at all (unknown named port, runtime error) throws
 * ProbeError instead: Kubernetes' probe.Unknown, retried and then reported as "probe errored".
 */
export interface ProbeOutcome {
  result: "Success" | "Failure" | "Warning";
  output: string;
}

export class ProbeError extends Error {
  override name = "ProbeError";
}

/** The User-Agent of HTTP and gRPC probes: "kube-probe/<major>.<minor>" of the Kubernetes version modelled. */
export const PROBE_USER_AGENT = "kube-probe/1.32";

/** net.JoinHostPort: IPv6 literals in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${String(port)}` : `${host}:${String(port)}`;
}

/** A whole-second duration as Go's time.Duration prints it: 1s, 1m30s, 1h0m0s. */
export function goDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${String(h)}h${String(m)}m${String(s)}s`;
  if (m > 0) return `${String(m)}m${String(s)}s`;
  return `${String(s)}s`;
}

/** %q of a Go string, close enough for commands and addresses. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}

/**
 * A failed dial as Go's net.OpError prints it: "dial tcp 10.0.0.1:80: connect: connection refused",
 * "dial tcp 10.0.0.1:80: i/o timeout", "dial tcp: lookup web on …: no such host".
 */
export function dialErrorText(err: unknown, host: string, port: number): string {
  const addr = joinHostPort(host, port);
  switch (errorCode(err) ?? "") {
    case "ECONNREFUSED":
      return `dial tcp ${addr}: connect: connection refused`;
    case "EHOSTUNREACH":
      return `dial tcp ${addr}: connect: no route to host`;
    case "ENETUNREACH":
      return `dial tcp ${addr}: connect: network is unreachable`;
    case "EADDRNOTAVAIL":
      return `dial tcp ${addr}: connect: cannot assign requested address`;
    case "ETIMEDOUT":
      return `dial tcp ${addr}: i/o timeout`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `dial tcp: lookup ${host}: no such host`;
    default:
      return `dial tcp ${addr}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Errors after the connection was made, as Go reports them on a read. */
export function connectionErrorText(err: unknown): string {
  const code = errorCode(err);
  if (code === "ECONNRESET" && err instanceof Error && err.message === "socket hang up") return "EOF";
  if (code === "ECONNRESET") return "read: connection reset by peer";
  if (code === "EPIPE") return "write: broken pipe";
  return err instanceof Error ? err.message : String(err);
}

/** Node's errno code of a socket error (ECONNREFUSED), if any. */
export function errorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code: unknown = Reflect.get(err, "code");
  return typeof code === "string" ? code : undefined;
}

/** Errors that happen while dialing (before any byte was exchanged), as opposed to on an open connection. */
export function isDialError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"].includes(code);
}
