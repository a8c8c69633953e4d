// kube-controller-manager (dist/controller-manager/main.js): the controllers that drive objects to their spec.
import { apiClientComponent, type ApiClientOptions } from "./api-client.js";
import type { Component } from "./component.js";

export interface ControllerManagerOptions extends ApiClientOptions {
  /** --leader-elect; the controller-manager's default is true. */
  leaderElect?: boolean;
}

export function controllerManagerComponent(options: ControllerManagerOptions = {}): Component {
  return apiClientComponent("kube-controller-manager", "controller-manager", options, [["leader-elect", options.leaderElect]]);
}
