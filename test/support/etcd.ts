// Starts a real, throw-away etcd (Debian's etcd-server) on free loopback ports for integration tests.
import { launchEtcd, type EtcdHandle } from "../../lab/process/control-plane.js";
import { testPki } from "./pki.js";
import { testProcesses } from "./processes.js";

export { freePort } from "../../lab/process/ports.js";
export type { EtcdHandle } from "../../lab/process/control-plane.js";

/** `tls`: kubeadm's etcd, https with client certificates from the test run's PKI (the handle's `pki`). */
export async function startEtcd(options: { quotaBytes?: number; tls?: boolean } = {}): Promise<EtcdHandle> {
  const { tls, ...rest } = options;
  return launchEtcd(testProcesses, { ...rest, ...(tls === true ? { tlsPkiDir: (await testPki()).dir } : {}) });
}
