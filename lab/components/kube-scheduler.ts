// kube-scheduler (dist/scheduler/main.js): binds pending pods to nodes.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface SchedulerOptions extends ApiClientOptions {
  /** --leader-elect; the scheduler's default is true. */
  leaderElect?: boolean;
}

export function schedulerComponent(options: SchedulerOptions = {}): Component {
  return apiClientComponent("kube-scheduler", "scheduler", options, [["leader-elect", options.leaderElect]]);
}
