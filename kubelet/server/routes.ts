// The kubelet server's paths, as Kubernetes' kubelet server.go lays them out, parsed into what they address.

export type StreamKind = "exec" | "attach";

export type KubeletRoute =
  | { kind: "healthz" }
  | { kind: "metrics" }
  | { kind: "metricsResource" }
  | { kind: "metricsCadvisor" }
  | { kind: "pods" }
  | { kind: "statsSummary" }
  | { kind: "containerLogs"; namespace: string; pod: string; container: string }
  | { kind: "exec"; namespace: string; pod: string; uid?: string; container: string }
  | { kind: "attach"; namespace: string; pod: string; uid?: string; container: string }
  | { kind: "portForward"; namespace: string; pod: string; uid?: string };

/** The route of a path (no query), or undefined for one the kubelet does not serve. */
export function parseKubeletPath(path: string): KubeletRoute | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  let segments: string[];
  try {
    segments = parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  const head = segments[0] ?? "";
  const rest = segments.slice(1);
  switch (head) {
    case "healthz":
      return rest.length === 0 ? { kind: "healthz" } : undefined;
    case "metrics":
      if (rest.length === 0) return { kind: "metrics" };
      if (rest.length === 1 && rest[0] === "resource") return { kind: "metricsResource" };
      return rest.length === 1 && rest[0] === "cadvisor" ? { kind: "metricsCadvisor" } : undefined;
    case "pods":
      return rest.length === 0 ? { kind: "pods" } : undefined;
    case "stats":
      return rest.length === 1 && rest[0] === "summary" ? { kind: "statsSummary" } : undefined;
    case "containerLogs":
      return rest.length === 3 ? { kind: "containerLogs", namespace: rest[0]!, pod: rest[1]!, container: rest[2]! } : undefined;
    case "exec":
    case "attach": {
      const kind: StreamKind = head;
      if (rest.length === 3) return { kind, namespace: rest[0]!, pod: rest[1]!, container: rest[2]! };
      if (rest.length === 4) return { kind, namespace: rest[0]!, pod: rest[1]!, uid: rest[2]!, container: rest[3]! };
      return undefined;
    }
    case "portForward":
      if (rest.length === 2) return { kind: "portForward", namespace: rest[0]!, pod: rest[1]! };
      if (rest.length === 3) return { kind: "portForward", namespace: rest[0]!, pod: rest[1]!, uid: rest[2]! };
      return undefined;
    default:
      return undefined;
  }
}

/** The streams an exec or attach asks for: the kubelet's input/output/error/tty, or the API's stdin/stdout/stderr. */
export interface StreamOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function on(query: URLSearchParams, ...names: string[]): boolean {
  return names.some((name) => {
    const value = query.get(name);
    return value === "1" || value === "true";
  });
}

export function parseStreamOptions(query: URLSearchParams): StreamOptions {
  const tty = on(query, "tty");
  return {
    command: query.getAll("command"),
    stdin: on(query, "input", "stdin"),
    stdout: on(query, "output", "stdout"),
    // A terminal merges stderr into stdout: no stderr stream with a tty.
    stderr: !tty && on(query, "error", "stderr"),
    tty,
  };
}
