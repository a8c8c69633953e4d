// The lab's own processes, polled from its supervisor (`kubelab status` over the control socket): one component row
// each, and the lab's phase. The supervisor has no watch, so this is the one part of the view that is polled.
import { errorMessage } from "../api/errors.js";
import type { LabControlClient, LabStatus } from "../client/lab-control.js";
import type { ClusterState } from "./cluster-state.js";
import type { ComponentRow, LabInfo } from "./web/protocol.js";

export const NO_LAB: LabInfo = { connected: false, phase: "", home: "", apiserver: "", error: "" };

export function componentRows(status: LabStatus): ComponentRow[] {
  return status.components.map((c) => ({
    name: c.name,
    component: c.component,
    node: c.node ?? "",
    state: c.state,
    restarts: c.restarts,
    health: c.health,
    pid: c.pid ?? 0,
    // Uptime ticks every poll; whole minutes keep a running component's row from changing every second.
    uptimeSeconds: c.uptimeSeconds === undefined ? 0 : c.uptimeSeconds < 60 ? 0 : Math.floor(c.uptimeSeconds / 60) * 60,
  }));
}

/** Polls once: updates the component rows and returns the lab's info (disconnected, with the error, on failure). */
export async function pollLab(client: LabControlClient, state: ClusterState): Promise<LabInfo> {
  try {
    const status = await client.status(5_000);
    const rows = componentRows(status);
    for (const row of rows) state.set("components", row.name, row);
    state.retain("components", new Set(rows.map((r) => r.name)));
    return { connected: true, phase: status.phase, home: status.home, apiserver: status.apiserver, error: status.error ?? "" };
  } catch (err) {
    return { ...NO_LAB, error: `the lab's supervisor did not answer at ${client.socketPath}: ${errorMessage(err)}` };
  }
}
