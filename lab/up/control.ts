// The `kubelab` commands' side of the control channel to a lab's supervisor. The protocol (its types and a client)
// lives in client/lab-control.ts, shared with the live view; this adds only where a lab's socket is.
import { callControlSocket } from "../../client/lab-control.js";
import { controlSocketPath } from "./state.js";

export type { ComponentStatus, KillRequest, LabStatus, NodeStatus, ProcessPhase, TargetRequest } from "../../client/lab-control.js";

/** One request to the supervisor of the lab at `home`; rejects with the supervisor's error message. */
export function callSupervisor<T>(home: string, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
  return callControlSocket<T>(controlSocketPath(home), method, path, body, timeoutMs);
}
