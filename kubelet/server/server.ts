// CONTRACT (placeholder until the kubelet-server work lands): the kubelet's HTTP API on --port (10250):
// /healthz, /metrics, /pods, /containerLogs, /exec, /attach, /portForward, /stats/summary, /metrics/resource.
import type { Registry } from "../../component-base/metrics.js";
import type { CriClient } from "../../client/cri/client.js";
import type { Pod } from "../../api/types/index.js";
import type { Logger } from "../../component-base/logging.js";

export interface KubeletServerOptions {
  address: string;
  port: number;
  nodeName: string;
  /** The pods bound to this node, as the kubelet knows them (status included). */
  pods(): readonly Readonly<Pod>[];
  runtime: CriClient;
  registry: Registry;
  logger: Logger;
  /** /healthz: false while the kubelet's sync loop is unhealthy. */
  healthy(): boolean;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  return Promise.resolve({ port: options.port, close: () => Promise.resolve() });
}
