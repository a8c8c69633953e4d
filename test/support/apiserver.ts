// Starts a real kube-apiserver process (the built dist/apiserver/main.js) against a real etcd, and runs the real
// kubectl against it with its own kubeconfig and discovery cache.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startEtcd, type EtcdHandle } from "./etcd.js";

/** The repository root, whether this file runs from test/support or from its compiled copy in dist/test/support. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && !dir.endsWith(`${sep}dist`)) return dir;
  }
  return resolve(start, "..", "..");
}
export const APISERVER_MAIN = join(REPO_ROOT, "dist", "apiserver", "main.js");

export interface ApiServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the process wrote to stderr (its logs). */
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

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

export async function startApiServerProcess(etcdEndpoint: string, extraArgs: string[] = [], port?: number): Promise<ApiServerProcess> {
  const chosenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${chosenPort}`;
  const args = [APISERVER_MAIN, "--etcd-servers", etcdEndpoint, "--insecure-port", String(chosenPort), "--bind-address", "127.0.0.1", ...extraArgs];
  let output = "";
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await waitFor(`apiserver ${url} ready`, async () => {
        if (child.exitCode !== null) throw new Error(`apiserver exited ${child.exitCode}: ${output.slice(-2000)}`);
        return (await isReady(url)) || undefined;
      }, 20_000);
    } catch (err) {
      // Never leave a half-started apiserver behind a failed test.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => { r(); }));
        child.kill("SIGKILL");
        await exited;
      }
      throw err;
    }
  };
  await launch();
  const handle: ApiServerProcess = {
    url,
    port: chosenPort,
    get process() {
      return child;
    },
    logs: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => { r(); }));
      child.kill(signal);
      await exited;
    },
    async restart() {
      await handle.stop();
      await launch();
    },
  };
  return handle;
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

export function writeKubeconfig(path: string, server: string, namespace = "default"): void {
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: kubelab, cluster: {server: "${server}"}}]`,
      "users: [{name: kubelab, user: {}}]",
      `contexts: [{name: kubelab, context: {cluster: kubelab, user: kubelab, namespace: ${namespace}}}]`,
      "current-context: kubelab",
      "",
    ].join("\n"),
  );
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
  const workDir = mkdtempSync(join(tmpdir(), "kubelab-test-"));
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
      rmSync(workDir, { recursive: true, force: true });
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
