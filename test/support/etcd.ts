// Starts a real, throw-away etcd (Debian's etcd-server) on free loopback ports for integration tests.
import { launchEtcd, type EtcdHandle } from "../../lab/process/control-plane.js";
import { testProcesses } from "./processes.js";

export { freePort } from "../../lab/process/ports.js";
export type { EtcdHandle } from "../../lab/process/control-plane.js";

export function startEtcd(options: { quotaBytes?: number } = {}): Promise<EtcdHandle> {
  return launchEtcd(testProcesses, options);
}
