// kubelab-ui (dist/live-view/main.js): the live web view. It serves the page, its WebSocket and /readyz on one
// port (--port) on --address (loopback), and asks the lab at --lab-home for its components.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface KubelabUiOptions extends Omit<ApiClientOptions, "bindAddress"> {
  /** --address: where the page is served (default 127.0.0.1). */
  address?: string;
  /** --lab-home: the lab whose supervisor it asks (unset: the cluster only). */
  labHome?: string;
}

export function kubelabUiComponent(options: KubelabUiOptions = {}): Component {
  return apiClientComponent("kubelab-ui", "live-view", options, [
    ["address", options.address],
    ["lab-home", options.labHome],
  ]);
}
