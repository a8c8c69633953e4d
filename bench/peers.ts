// Other apiservers a benchmark measures beside kubelab's, each on its own fresh etcd: the real kube-apiserver
// (v1.26.1, built as ../shared/peers/README.md says, found through KUBELAB_PEERS) and a previous kubelab build
// (KUBELAB_APISERVER_BASELINE_MAIN), so that ratios between them come from one run on one machine.
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { apiserverComponent } from "../lab/components/kube-apiserver.js";
import { PEER_ADMIN_TOKEN, realApiserverComponent } from "../lab/components/real-kube-apiserver.js";
import { freePort } from "../lab/process/ports.js";
import type { ManagedProcess } from "../lab/process/runner.js";
import { benchProcesses } from "./cluster.js";
import { NodeHttpClient } from "./http.js";

/** An apiserver a bench drives: where, with which token, its PID (for CPU), and spawn → ready /readyz. */
export interface PeerApiServer {
  readonly url: string;
  readonly token: string | undefined;
  readonly process: ManagedProcess;
  readonly startupMs: number;
}

/** The real kube-apiserver binary and PKI under KUBELAB_PEERS, or why it cannot be measured. */
export function realApiServerPeers(env: NodeJS.ProcessEnv = process.env): { dir: string } | { missing: string } {
  const dir = env.KUBELAB_PEERS ?? "";
  if (dir === "") return { missing: "KUBELAB_PEERS is not set (a folder with bin/kube-apiserver and pki/, see ../shared/peers/README.md)" };
  const needed = [join(dir, "bin", "kube-apiserver"), join(dir, "pki", "tokens.csv"), join(dir, "pki", "sa.key"), join(dir, "pki", "sa.pub"), join(dir, "pki", "ca.crt")];
  const absent = needed.filter((path) => !existsSync(path));
  return absent.length > 0 ? { missing: `${absent.join(", ")} missing under KUBELAB_PEERS` } : { dir: resolve(dir) };
}

/** A previous kubelab apiserver build to compare with (its dist/apiserver/main.js), or undefined. */
export function baselineApiServerMain(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const main = env.KUBELAB_APISERVER_BASELINE_MAIN ?? "";
  return main === "" ? undefined : resolve(main);
}

/** Polls GET /readyz (with the token) every `intervalMs` until a 200; rejects if the process exits or on the deadline. */
async function waitReadyz(proc: ManagedProcess, url: string, token: string | undefined, timeoutMs: number, intervalMs: number): Promise<void> {
  const client = new NodeHttpClient(url, 1, token);
  try {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const gone = proc.exitReason();
      if (gone) throw new Error(`${proc.name} ${gone} before it was ready; its output ends with:\n${proc.logs().slice(-2_000)}`);
      const status = await client.request("GET", "/readyz", undefined, 2_000).then((r) => r.status, () => 0);
      if (status === 200) return;
      if (performance.now() >= until) throw new Error(`${proc.name} not ready within ${timeoutMs} ms; its output ends with:\n${proc.logs().slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    client.close();
  }
}

/** Starts the real kube-apiserver on `etcdEndpoint` and waits for /readyz; it is killed on the bench's teardown. */
export async function startRealApiServer(peersDir: string, etcdEndpoint: string, timeoutMs = 90_000): Promise<PeerApiServer> {
  const port = await freePort();
  const certDir = benchProcesses.tempDir("kubelab-bench-real-certs-", tmpdir());
  const proc = benchProcesses.start(
    realApiserverComponent({ peersDir, etcdServers: etcdEndpoint, port, certDir }),
    { logRingChars: 64 * 1024 },
  );
  const url = `https://127.0.0.1:${port}`;
  const t0 = performance.now();
  try {
    await waitReadyz(proc, url, PEER_ADMIN_TOKEN, timeoutMs, 50);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw err;
  }
  return { url, token: PEER_ADMIN_TOKEN, process: proc, startupMs: performance.now() - t0 };
}

/** Starts another kubelab apiserver build (`main` is its dist/apiserver/main.js) on `etcdEndpoint`, plain HTTP. */
export function startBaselineApiServer(main: string, etcdEndpoint: string, timeoutMs = 30_000): Promise<PeerApiServer> {
  return startPlainApiServer(etcdEndpoint, { main, name: "baseline-kube-apiserver", timeoutMs });
}

/**
 * A kubelab apiserver on `etcdEndpoint`, plain HTTP as the bench's own: this build's, or the build whose
 * dist/apiserver/main.js `main` is.
 */
export async function startPlainApiServer(etcdEndpoint: string, options: { main?: string; name?: string; timeoutMs?: number } = {}): Promise<PeerApiServer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const port = await freePort();
  const component = { ...apiserverComponent({ etcdServers: etcdEndpoint, port, ...(options.main === undefined ? {} : { entry: options.main }) }), name: options.name ?? "plain-kube-apiserver" };
  const { process: proc, readyMs } = await benchProcesses.startReady(component, { timeoutMs, intervalMs: 20, logRingChars: 64 * 1024 });
  return { url: `http://127.0.0.1:${port}`, token: undefined, process: proc, startupMs: readyMs };
}

/** The bench's token for kubelab over TLS: a static-token user in system:masters, as the real one's admin token. */
const SECURE_BENCH_TOKEN = "kubelab-bench-admin-token";

/**
 * This build's apiserver as a secure cluster runs it, on `etcdEndpoint`: HTTPS on a free port with a self-signed
 * serving pair, a static admin token, Node,RBAC. The insecure loopback port is kept for the readiness probe only;
 * the load goes over TLS with the token, as it does to the real kube-apiserver. `workers`: kubelab's --workers.
 */
export async function startSecureApiServer(etcdEndpoint: string, options: { workers?: number; timeoutMs?: number } = {}): Promise<PeerApiServer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const port = await freePort();
  const securePort = await freePort();
  const dir = benchProcesses.tempDir("kubelab-bench-secure-", tmpdir());
  const tokenFile = join(dir, "tokens.csv");
  writeFileSync(tokenFile, `${SECURE_BENCH_TOKEN},bench-admin,bench-admin,"system:masters"\n`, { mode: 0o600 });
  const component = {
    ...apiserverComponent({ etcdServers: etcdEndpoint, port, securePort, extraArgs: [`--cert-dir=${dir}`, `--token-auth-file=${tokenFile}`, "--authorization-mode=Node,RBAC", ...(options.workers !== undefined && options.workers > 1 ? [`--workers=${options.workers}`] : [])] }),
    name: "secure-kube-apiserver",
  };
  const { process: proc, readyMs } = await benchProcesses.startReady(component, { timeoutMs, intervalMs: 20, logRingChars: 64 * 1024 });
  return { url: `https://127.0.0.1:${securePort}`, token: SECURE_BENCH_TOKEN, process: proc, startupMs: readyMs };
}
