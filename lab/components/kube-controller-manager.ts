// kube-controller-manager (dist/controller-manager/main.js): the controllers that drive objects to their spec.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface ControllerManagerOptions extends ApiClientOptions {
  /** --leader-elect; the controller-manager's default is true. */
  leaderElect?: boolean;
  /** --secure-port (Kubernetes' default 10257); 0, the default here, serves no HTTPS, so test processes never race
   *  for the fixed port. */
  securePort?: number;
  /** --bind-address of the secure port. */
  secureBindAddress?: string;
}

export function controllerManagerComponent(options: ControllerManagerOptions = {}): Component {
  return apiClientComponent("kube-controller-manager", "controller-manager", options, [
    ["leader-elect", options.leaderElect],
    ["secure-port", options.securePort ?? 0],
    ["bind-address", options.secureBindAddress],
  ], [], "address");
}
