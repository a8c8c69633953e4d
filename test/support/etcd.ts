// Starts a real, throw-away etcd (Debian's etcd-server) on free loopback ports for integration tests and benches.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EtcdHandle {
  /** Client URL, e.g. http://127.0.0.1:23791 */
  endpoint: string;
  dataDir: string;
  process: ChildProcess;
  /** Kills etcd (SIGKILL when `hard`), keeping its data directory so that `restart` finds the same state. */
  stop(hard?: boolean): Promise<void>;
  /** Starts etcd again on the same ports and data directory. */
  restart(): Promise<void>;
  /** Stops etcd and removes its data directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function waitHealthy(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy within ${deadlineMs} ms`);
}

export async function startEtcd(options: { quotaBytes?: number } = {}): Promise<EtcdHandle> {
  // tmpfs keeps fsync cheap on these small machines; the figures that matter are ratios measured in the same run.
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dataDir = mkdtempSync(join(base, "kubelab-etcd-"));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const args = [
    "--name", "test",
    "--data-dir", dataDir,
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
    "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
    "--initial-cluster", `test=http://127.0.0.1:${peerPort}`,
    "--log-level", "error",
    "--logger", "zap",
    "--quota-backend-bytes", String(options.quotaBytes ?? 2 * 1024 * 1024 * 1024),
  ];
  const launch = (): ChildProcess => spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] });
  let child = launch();
  await waitHealthy(endpoint, child, 15_000);

  const stop = async (hard = false): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => { r(); }));
    child.kill(hard ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  const handle: EtcdHandle = {
    endpoint,
    dataDir,
    get process() {
      return child;
    },
    stop,
    async restart() {
      await stop();
      child = launch();
      await waitHealthy(endpoint, child, 15_000);
    },
    async destroy() {
      await stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
