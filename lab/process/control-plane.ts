// etcd and kube-apiserver started from their descriptors on free loopback ports, with the handles tests and
// benchmarks drive them by: stop (gracefully or hard), restart on the same ports and data, destroy.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { loopbackUrl } from "../components/component.js";
import { etcdComponent, etcdEndpoint } from "../components/etcd.js";
import { apiserverComponent, apiserverSecureOptionsFromPki } from "../components/kube-apiserver.js";
import type { EtcdPkiPaths } from "../pki/etcd.js";
import { labPkiPaths } from "../pki/pki.js";
import { removeDir, type ProcessOwner } from "./owner.js";
import { freePort } from "./ports.js";
import type { ManagedProcess, StartOptions, WaitReadyOptions } from "./runner.js";

export interface EtcdHandle {
  /** Client URL, e.g. http://127.0.0.1:23791 (https:// with `tls`). */
  readonly endpoint: string;
  /** With `tls`: etcd's files, whose healthcheck-client a direct client (etcdctl) presents. */
  readonly pki?: EtcdPkiPaths;
  readonly dataDir: string;
  /** The child process of the current run. */
  readonly process: ChildProcess;
  readonly managed: ManagedProcess;
  /** Kills etcd (SIGKILL when `hard`), keeping its data directory so that `restart` finds the same state. */
  stop(hard?: boolean): Promise<void>;
  /** Starts etcd again on the same ports and data directory. */
  restart(): Promise<void>;
  /** Stops etcd and removes its data directory. */
  destroy(): Promise<void>;
}

export interface EtcdLaunchOptions {
  /** --quota-backend-bytes (2 GiB by default). */
  quotaBytes?: number;
  /** Directory the data directory is made in: /dev/shm when there is one (fsync is cheap there), else tmpdir. */
  dataDirBase?: string;
  /** kubeadm's TLS with client certificates, from the etcd files of the lab PKI in this directory (lab/pki). */
  tlsPkiDir?: string;
}

const ETCD_READY: WaitReadyOptions = { timeoutMs: 15_000, intervalMs: 50 };

/** A throw-away single-member etcd; its process and data directory belong to `owner`. */
export async function launchEtcd(owner: ProcessOwner, options: EtcdLaunchOptions = {}): Promise<EtcdHandle> {
  const dataDir = owner.tempDir("kubelab-etcd-", options.dataDirBase ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir()));
  const pki = options.tlsPkiDir !== undefined ? labPkiPaths(options.tlsPkiDir).etcd : undefined;
  const component = etcdComponent({
    dataDir,
    clientPort: await freePort(),
    peerPort: await freePort(),
    ...(options.quotaBytes !== undefined ? { quotaBackendBytes: options.quotaBytes } : {}),
    ...(pki ? { tls: { pki, metricsPort: await freePort() } } : {}),
  });
  const { process: managed } = await owner.startReady(component, ETCD_READY);
  const stop = (hard = false): Promise<void> => managed.stop(hard ? "SIGKILL" : "SIGTERM");
  return {
    endpoint: etcdEndpoint(component),
    ...(pki ? { pki } : {}),
    dataDir,
    get process() {
      return managed.process;
    },
    managed,
    stop,
    async restart() {
      await stop();
      managed.start();
      await managed.waitReady(ETCD_READY);
    },
    async destroy() {
      await stop(true);
      removeDir(dataDir);
    },
  };
}

/**
 * A kube-apiserver process: its URL and port (the secure port's https URL when launched `secure`, else the insecure
 * port's), the CA that signed its serving certificate (secure only), and the milliseconds from spawn to its first
 * ready /readyz.
 */
export type ApiserverHandle = ManagedProcess & { readonly url: string; readonly port: number; readonly caFile?: string; readonly startupMs: number };

/** A secure apiserver's files: a PKI in kubeadm's layout (lab/pki's ensureLabPki) and optionally a static token file. */
export interface ApiserverPkiOptions {
  pkiDir: string;
  /** --token-auth-file. */
  tokenAuthFile?: string;
  /**
   * false: no --kubelet-client-certificate, so the apiserver reaches kubelets over plain HTTP (kubelab's kubelets
   * serve plain HTTP unless given --tls-cert-file); by default it presents the PKI's apiserver-kubelet-client.
   */
  kubeletClient?: boolean;
}

export interface ApiserverLaunchOptions extends WaitReadyOptions, Pick<StartOptions, "logRingChars"> {
  /** --insecure-port; a free one by default, none by default with `secure`. */
  port?: number;
  /**
   * kubeadm's setup: HTTPS on a free secure port (loopback) with the PKI's certificates, client certificates and
   * tokens, Node,RBAC, NodeRestriction, and no insecure port unless `port` asks for one.
   */
  secure?: ApiserverPkiOptions;
  /** --etcd-cafile, --etcd-certfile, --etcd-keyfile: kubeadm's files for an etcd launched with `tlsPkiDir`. */
  etcdPki?: EtcdPkiPaths;
  /** Further flags after the ones the launcher sets. */
  extraArgs?: readonly string[];
}

/** A kube-apiserver on `etcdServers`, ready when this resolves; if it never gets ready it is killed and this rejects. */
export async function launchApiserver(owner: ProcessOwner, etcdServers: string, options: ApiserverLaunchOptions = {}): Promise<ApiserverHandle> {
  const ready = {
    timeoutMs: options.timeoutMs ?? 20_000,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.logRingChars !== undefined ? { logRingChars: options.logRingChars } : {}),
  };
  if (options.secure) {
    const pki = labPkiPaths(options.secure.pkiDir);
    const securePort = await freePort();
    const component = apiserverComponent({
      etcdServers,
      ...(options.etcdPki ? { etcdPki: options.etcdPki } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      secure: apiserverSecureOptionsFromPki(pki, securePort, "127.0.0.1"),
      extraArgs: [
        ...(options.secure.tokenAuthFile !== undefined ? [`--token-auth-file=${options.secure.tokenAuthFile}`] : []),
        // An empty value is no value: the flags the descriptor always sets, taken back.
        ...(options.secure.kubeletClient === false ? ["--kubelet-client-certificate=", "--kubelet-client-key="] : []),
        ...(options.extraArgs ?? []),
      ],
    });
    const { process: managed, readyMs } = await owner.startReady(component, ready);
    return Object.assign(managed, { url: `https://127.0.0.1:${securePort}`, port: securePort, caFile: pki.caCert, startupMs: readyMs });
  }
  const port = options.port ?? (await freePort());
  const component = apiserverComponent({ etcdServers, port, ...(options.etcdPki ? { etcdPki: options.etcdPki } : {}), ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}) });
  const { process: managed, readyMs } = await owner.startReady(component, ready);
  return Object.assign(managed, { url: loopbackUrl(port), port, startupMs: readyMs });
}
