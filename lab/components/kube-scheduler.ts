// kube-scheduler (dist/scheduler/main.js): binds pending pods to nodes.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface SchedulerOptions extends ApiClientOptions {
  /** --leader-elect; the scheduler's default is true. */
  leaderElect?: boolean;
  /** --secure-port (Kubernetes' default 10259); 0, the default here, serves no HTTPS, so test processes never race
   *  for the fixed port. */
  securePort?: number;
  /** --bind-address of the secure port. */
  secureBindAddress?: string;
}

export function schedulerComponent(options: SchedulerOptions = {}): Component {
  return apiClientComponent("kube-scheduler", "scheduler", options, [
    ["leader-elect", options.leaderElect],
    ["secure-port", options.securePort ?? 0],
    ["bind-address", options.secureBindAddress],
  ], [], "address");
}
