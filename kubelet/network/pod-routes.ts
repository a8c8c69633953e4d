// CONTRACT (placeholder until the node-status work lands): host-gw pod routing. On the node's network namespace,
// keeps one route per other Node: its spec.podCIDR via its InternalIP, added and removed as Nodes come and go.
import type { Informer } from "../../client/informer.js";
import type { Node } from "../../api/types/index.js";
import type { Logger } from "../../component-base/logging.js";

export interface PodRoutesOptions {
  nodeName: string;
  nodes: Informer<Node>;
  logger: Logger;
}

export class PodRoutes {
  constructor(readonly options: PodRoutesOptions) {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  /** Removes the routes this kubelet added. */
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
