// The control channel of a running lab: HTTP with JSON bodies over the unix socket <home>/control.sock (mode 0600,
// root only, like the lab), served by the lab's supervisor. The types here are the whole protocol; the `kubelab`
// commands and the live view are its clients (so it lives below both).
import { request } from "node:http";

export type ProcessPhase = "starting" | "running" | "backoff" | "stopped" | "exited";

export interface ComponentStatus {
  name: string;
  /** The component's kind (etcd, kube-apiserver, …, container-runtime, kubelet). */
  component: string;
  /** The node it runs on; undefined for the control plane (host namespace). */
  node?: string;
  pid?: number;
  state: ProcessPhase;
  restarts: number;
  /** Seconds since the current run started; undefined while not running. */
  uptimeSeconds?: number;
  /** The last readiness probe: "ok", "failing", or "unknown" before the first one. */
  health: "ok" | "failing" | "unknown";
  metricsUrl?: string;
  command: string;
}

export interface NodeStatus {
  name: string;
  ip: string;
  netns: string;
}

export interface LabStatus {
  /** "starting" until every component has been started and found ready once, "failed" if that went wrong. */
  phase: "starting" | "up" | "failed" | "stopping";
  error?: string;
  home: string;
  apiserver: string;
  supervisorPid: number;
  components: ComponentStatus[];
  nodes: NodeStatus[];
  /** Progress lines since the supervisor started, oldest first (`up` prints them as they come). */
  progress: string[];
}

export interface TargetRequest {
  component: string;
  node?: string;
}

export interface KillRequest extends TargetRequest {
  signal?: string;
  noRestart?: boolean;
}

/** One request to the supervisor listening on `socketPath`; rejects with the supervisor's error message. */
export async function callControlSocket<T>(socketPath: string, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          let parsed: unknown;
          try {
            parsed = text === "" ? {} : JSON.parse(text);
          } catch {
            reject(new Error(`the supervisor answered ${res.statusCode ?? 0} with ${text.slice(0, 200)}`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const message = typeof parsed === "object" && parsed !== null && "error" in parsed ? String(parsed.error) : text;
            reject(new Error(message));
            return;
          }
          resolve(parsed as T);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`the supervisor did not answer ${method} ${path} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A typed client of one lab's supervisor. */
export class LabControlClient {
  constructor(readonly socketPath: string) {}

  status(timeoutMs = 10_000): Promise<LabStatus> {
    return callControlSocket<LabStatus>(this.socketPath, "GET", "/status", undefined, timeoutMs);
  }

  kill(request: KillRequest): Promise<ComponentStatus[]> {
    return callControlSocket<ComponentStatus[]>(this.socketPath, "POST", "/kill", request);
  }

  stop(request: TargetRequest): Promise<ComponentStatus[]> {
    return callControlSocket<ComponentStatus[]>(this.socketPath, "POST", "/stop", request);
  }

  start(request: TargetRequest): Promise<ComponentStatus[]> {
    return callControlSocket<ComponentStatus[]>(this.socketPath, "POST", "/start", request);
  }
}
