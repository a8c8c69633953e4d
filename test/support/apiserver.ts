// Starts a real kube-apiserver process (the built dist/apiserver/main.js) against a real etcd, and runs the real
// kubectl against it with its own kubeconfig and discovery cache. Secure by default, as kubeadm sets one up: HTTPS
// with the test run's PKI (./pki.ts), client certificates and a static token file, Node,RBAC, no insecure port; the
// handle's `api` reaches it as the admin. `{ insecure: true }` gives the 0.18 plain-HTTP apiserver instead, for the
// tests that are about the insecure port.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKubeconfigFile, type ClientConfig } from "../../client/kubeconfig.js";
import type { EtcdPkiPaths } from "../../lab/pki/etcd.js";
import { launchApiserver, type ApiserverHandle } from "../../lab/process/control-plane.js";
import { removeDir } from "../../lab/process/owner.js";
import { startEtcd, type EtcdHandle } from "./etcd.js";
import { call, type ApiTarget } from "./http.js";
import { testPki } from "./pki.js";
import { testProcesses } from "./processes.js";

export { REPO_ROOT } from "../../lab/components/entries.js";
export { waitFor } from "./wait.js";

/**
 * A kube-apiserver process: url (https on the secure port unless insecure), port, process, logs(), stop(signal),
 * restart(); `api` is its URL with the CA and the admin's client certificate (just the URL when insecure).
 */
export type ApiServerProcess = ApiserverHandle & { readonly api: ApiTarget };

export interface ApiServerOptions {
  /** The 0.18 apiserver: plain HTTP on an insecure port, no authentication, AlwaysAllow. */
  insecure?: boolean;
  /** --insecure-port (insecure only; a free one by default). */
  port?: number;
  /** --etcd-cafile/--etcd-certfile/--etcd-keyfile from these files (an etcd started with `tls`: its handle's `pki`). */
  etcdPki?: EtcdPkiPaths;
}


export async function isReady(target: string | ApiTarget): Promise<boolean> {
  try {
    const res = await call(target, "GET", "/readyz");
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * A ready apiserver on `etcdEndpoint`; one that never gets ready is killed. Like Kubernetes' own integration tests,
 * it runs without the ServiceAccount admission plugin unless `extraArgs` choose the plugins: most tests create pods
 * with no controller-manager to make the `default` ServiceAccount. It reaches kubelets over plain HTTP, as the test
 * kubelets serve unless a test gives them certificates (and the apiserver its --kubelet-client-* flags). A test whose
 * `extraArgs` set up serving itself (--secure-port) gets the plain apiserver those flags are added to.
 */
export async function startApiServerProcess(etcdEndpoint: string, extraArgs: string[] = [], options: ApiServerOptions = {}): Promise<ApiServerProcess> {
  const choosesPlugins = extraArgs.some((a) => a.startsWith("--enable-admission-plugins") || a.startsWith("--disable-admission-plugins"));
  const args = choosesPlugins ? extraArgs : ["--disable-admission-plugins=ServiceAccount", ...extraArgs];
  const ownServing = extraArgs.some((a) => a.startsWith("--secure-port"));
  if (options.insecure === true || ownServing) {
    const handle = await launchApiserver(testProcesses, etcdEndpoint, { extraArgs: args, ...(options.port !== undefined ? { port: options.port } : {}), ...(options.etcdPki ? { etcdPki: options.etcdPki } : {}) });
    return Object.assign(handle, { api: { url: handle.url } });
  }
  const pki = await testPki();
  const handle = await launchApiserver(testProcesses, etcdEndpoint, { extraArgs: args, secure: { pkiDir: pki.dir, tokenAuthFile: pki.tokenFile, kubeletClient: false }, ...(options.etcdPki ? { etcdPki: options.etcdPki } : {}) });
  return Object.assign(handle, { api: { url: handle.url, caFile: pki.paths.caCert, certFile: pki.paths.admin.cert, keyFile: pki.paths.admin.key } });
}

/**
 * Headers that authenticate a global fetch() as `api`'s bearer token (none for a target without one). fetch trusts
 * the run's CA through NODE_EXTRA_CA_CERTS (the globalSetup); it cannot present a client certificate.
 */
export function fetchHeaders(api: ApiTarget): Record<string, string> {
  return api.token !== undefined ? { Authorization: `Bearer ${api.token}` } : {};
}

/**
 * Global fetch() of `path` (or an absolute URL) on `api`'s server as `api`: its bearer token, or for the admin's
 * client certificate the run's admin token (fetch cannot present a certificate).
 */
export async function fetchAs(api: ApiTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const credential = api.token !== undefined ? api : await withAdminToken(api);
  for (const [name, value] of Object.entries(fetchHeaders(credential))) if (!headers.has(name)) headers.set(name, value);
  return fetch(new URL(path, api.url), { ...init, headers });
}

/** `api` with the run's static admin token instead of a client certificate (for clients that only send tokens). */
export async function withAdminToken(api: ApiTarget): Promise<ApiTarget> {
  if (api.caFile === undefined) return api;
  return { url: api.url, caFile: api.caFile, token: (await testPki()).adminToken };
}

export interface TestCluster {
  etcd: EtcdHandle;
  apiserver: ApiServerProcess;
  /** The apiserver as the admin (apiserver.api). */
  api: ApiTarget;
  /** The admin's kubeconfig (the CA and client certificate embedded), for kubectl and every component's --kubeconfig. */
  kubeconfig: string;
  workDir: string;
  kubectl(args: string[], options?: { stdin?: string; env?: Record<string, string>; allowFailure?: boolean; timeoutMs?: number }): Promise<KubectlResult>;
  destroy(): Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A kubeconfig for `target`: its URL, and its CA and credential embedded (a plain URL string: the plain-HTTP
 * apiserver's, no credentials).
 */
export function writeKubeconfig(path: string, target: string | ApiTarget, namespace = "default"): void {
  writeKubeconfigFile(path, clientConfigFor(target, namespace));
}

/** The ClientConfig (client/kubeconfig.ts) that reaches `target`, for a RestClient in the test process. */
export function clientConfigFor(target: string | ApiTarget, namespace = "default"): ClientConfig {
  const api = typeof target === "string" ? { url: target } : target;
  return {
    server: api.url,
    namespace,
    ...(api.caFile !== undefined ? { caData: readFileSync(api.caFile, "utf8") } : {}),
    ...(api.token !== undefined ? { token: api.token } : {}),
    ...(api.certFile !== undefined && api.keyFile !== undefined ? { clientCertData: readFileSync(api.certFile, "utf8"), clientKeyData: readFileSync(api.keyFile, "utf8") } : {}),
  };
}

/** etcd + apiserver processes and a kubectl bound to them; destroy() tears everything down. */
export async function startTestCluster(extraArgs: string[] = [], options: ApiServerOptions = {}): Promise<TestCluster> {
  const etcd = await startEtcd();
  let apiserver: ApiServerProcess;
  try {
    apiserver = await startApiServerProcess(etcd.endpoint, extraArgs, options);
  } catch (err) {
    await etcd.destroy();
    throw err;
  }
  const workDir = testProcesses.tempDir("kubelab-test-", tmpdir());
  const kubeconfig = join(workDir, "kubeconfig");
  writeKubeconfig(kubeconfig, apiserver.api);
  const cacheDir = join(workDir, "kube-cache");
  return {
    etcd,
    apiserver,
    api: apiserver.api,
    kubeconfig,
    workDir,
    kubectl: (args, options = {}) => runKubectl(["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], options),
    async destroy() {
      await apiserver.stop("SIGKILL");
      await etcd.destroy();
      removeDir(workDir);
    },
  };
}

export function runKubectl(args: string[], options: { stdin?: string; env?: Record<string, string>; allowFailure?: boolean; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile("kubectl", args, { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      const result = { code, stdout, stderr };
      if (code !== 0 && !options.allowFailure) {
        reject(new Error(`kubectl ${args.slice(4).join(" ")} failed (${code}): ${stderr || stdout}`));
        return;
      }
      resolvePromise(result);
    });
    if (options.stdin !== undefined) {
      child.stdin?.end(options.stdin);
    }
  });
}
