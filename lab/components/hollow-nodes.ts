// Hollow nodes (dist/kubelet/hollow/main.js, what `kubelab hollow-nodes` runs): N kubelets over a fake runtime in
// one process.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface HollowNodesOptions extends ApiClientOptions {
  /** --count: how many nodes the process runs. */
  count?: number;
  /** --name-prefix: nodes are named <prefix>-<index>. */
  namePrefix?: string;
}

export function hollowNodesComponent(options: HollowNodesOptions = {}): Component {
  return apiClientComponent("hollow-nodes", "kubelet/hollow", options, [["count", options.count], ["name-prefix", options.namePrefix]]);
}
