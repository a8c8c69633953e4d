// Starts a real kube-apiserver process (the built dist/apiserver/main.js) against a real etcd, and runs the real
// kubectl against it with its own kubeconfig and discovery cache.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKubeconfigFile } from "../../client/kubeconfig.js";
import { launchApiserver, type ApiserverHandle } from "../../lab/process/control-plane.js";
import { removeDir } from "../../lab/process/owner.js";
import { startEtcd, type EtcdHandle } from "./etcd.js";
import { testProcesses } from "./processes.js";

export { REPO_ROOT } from "../../lab/components/entries.js";

/** A kube-apiserver process: url, port, process, logs(), stop(signal), restart(). */
export type ApiServerProcess = ApiserverHandle;

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ""}`);
}

export async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`);
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * A ready apiserver on `etcdEndpoint` (on `port`, or a free one); one that never gets ready is killed. Like
 * Kubernetes' own integration tests, it runs without the ServiceAccount admission plugin unless `extraArgs` choose
 * the plugins: most tests create pods with no controller-manager to make the `default` ServiceAccount.
 */
export function startApiServerProcess(etcdEndpoint: string, extraArgs: string[] = [], port?: number): Promise<ApiServerProcess> {
  const choosesPlugins = extraArgs.some((a) => a.startsWith("--enable-admission-plugins") || a.startsWith("--disable-admission-plugins"));
  const args = choosesPlugins ? extraArgs : ["--disable-admission-plugins=ServiceAccount", ...extraArgs];
  return launchApiserver(testProcesses, etcdEndpoint, { extraArgs: args, ...(port !== undefined ? { port } : {}) });
}

export interface TestCluster {
  etcd: EtcdHandle;
  apiserver: ApiServerProcess;
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

/** A kubeconfig for `server` with no credentials (the plain-HTTP apiserver's). */
export function writeKubeconfig(path: string, server: string, namespace = "default"): void {
  writeKubeconfigFile(path, { server, namespace });
}

/** etcd + apiserver processes and a kubectl bound to them; destroy() tears everything down. */
export async function startTestCluster(extraArgs: string[] = []): Promise<TestCluster> {
  const etcd = await startEtcd();
  let apiserver: ApiServerProcess;
  try {
    apiserver = await startApiServerProcess(etcd.endpoint, extraArgs);
  } catch (err) {
    await etcd.destroy();
    throw err;
  }
  const workDir = testProcesses.tempDir("kubelab-test-", tmpdir());
  const kubeconfig = join(workDir, "kubeconfig");
  writeKubeconfig(kubeconfig, apiserver.url);
  const cacheDir = join(workDir, "kube-cache");
  return {
    etcd,
    apiserver,
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
