// `kubelab hollow-nodes` (dist/lab/main.js): N simulated nodes in one process.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface HollowNodesOptions extends ApiClientOptions {
  /** --count: how many nodes the process simulates. */
  count?: number;
  /** --name-prefix: nodes are named <prefix>-<index>. */
  namePrefix?: string;
}

export function hollowNodesComponent(options: HollowNodesOptions = {}): Component {
  return apiClientComponent("hollow-nodes", "lab", options, [["count", options.count], ["name-prefix", options.namePrefix]], ["hollow-nodes"]);
}
