// kubelab's --workers=N: one kube-apiserver as N processes on node:cluster, since a Node process serves on one
// thread and the real apiserver uses every core. The primary only supervises: it forks N workers that share the
// listening sockets (the primary accepts and hands connections round-robin), replaces a worker that dies, asks them
// to stop on SIGTERM/SIGINT, and gives up (exit 1) when workers crash-loop. Each worker is a whole apiserver with its
// own etcd clients and watch caches, as Kubernetes' HA apiservers on one etcd are; they advertise the same address,
// so the cluster sees one apiserver: one `kubernetes` Endpoints address, one set of metrics (aggregated by the
// primary on request), ready when every worker is.
import cluster, { type Worker } from "node:cluster";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../component-base/logging.js";
import { aggregateRegistries, type Registry, type RegistryJson } from "../component-base/metrics.js";
import { defaultAdvertiseAddress } from "./app.js";
import { loadServiceAccountTokens } from "./auth/service-account-tokens.js";
import type { ApiServerOptions } from "./options.js";
import { etcdTlsAtStart } from "./storage/etcd-tls.js";
import { formatIPv4, parseIPv4CIDR } from "./registry/services/allocators.js";
import type { WorkerGroup } from "./server.js";
import { servingCertificate } from "./serving.js";

/** Messages between the primary and its workers (over the cluster IPC channel). */
type Message =
  | { type: "kubelab:ready" }
  | { type: "kubelab:workers"; allReady: boolean }
  | { type: "kubelab:metrics"; id: number }
  | { type: "kubelab:metrics-reply"; id: number; text?: string; error?: string }
  | { type: "kubelab:collect"; id: number }
  | { type: "kubelab:collected"; id: number; metrics?: RegistryJson; error?: string }
  | { type: "kubelab:stop" };

function isMessage(value: unknown): value is Message {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string" && (value as { type: string }).type.startsWith("kubelab:");
}

export interface SuperviseOptions {
  workers: number;
  /** The apiserver's flags (the workers get the same command line, plus what sharedWorkerFlags adds). */
  apiserver: ApiServerOptions;
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT: the workers are asked to stop and awaited. */
  signal: AbortSignal;
  /** A crash loop: this many worker exits within `crashWindowMs` (default 5 in 60 s) stop the whole apiserver. */
  maxCrashes?: number;
  crashWindowMs?: number;
}

/**
 * The workers whose process has not exited. `cluster.workers` keeps a worker until both its exit and the close of its
 * IPC channel have been seen, in whichever order they come: when the exit comes first, the 'exit' event fires while
 * the dead worker is still listed.
 */
export function liveWorkers(workers: NodeJS.Dict<Worker> | undefined): Worker[] {
  return Object.values(workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}

/** The primary's side; resolves once every worker has exited after a stop, rejects on a crash loop. */
export async function superviseWorkers(options: SuperviseOptions): Promise<void> {
  const { logger, signal } = options;
  const maxCrashes = options.maxCrashes ?? 5;
  const crashWindowMs = options.crashWindowMs ?? 60_000;
  const ready = new Set<number>();
  const crashes: number[] = [];
  let stopping = false;
  let collectId = 0;
  const collecting = new Map<number, { pending: Set<number>; metrics: RegistryJson[]; done: (err?: Error) => void }>();

  const broadcast = (): void => {
    const live = liveWorkers(cluster.workers);
    const allReady = live.length === options.workers && live.every((w) => ready.has(w.id));
    for (const w of live) if (w.isConnected()) w.send({ type: "kubelab:workers", allReady } satisfies Message);
  };

  /** Every live worker's registry as JSON, aggregated into one Prometheus text (counters summed, and so on). */
  const collect = (): Promise<string> => {
    const id = collectId++;
    const live = liveWorkers(cluster.workers).filter((w) => w.isConnected());
    return new Promise<string>((resolve, reject) => {
      const entry = {
        pending: new Set(live.map((w) => w.id)),
        metrics: [] as RegistryJson[],
        done: (err?: Error) => {
          clearTimeout(timer);
          collecting.delete(id);
          if (err) reject(err);
          // Through a promise: a failure to merge fails this scrape, never the primary.
          else Promise.resolve(entry.metrics).then(aggregateRegistries).then(resolve, reject);
        },
      };
      const timer = setTimeout(() => { entry.done(new Error("workers did not answer within 5 s")); }, 5000);
      collecting.set(id, entry);
      for (const w of live) w.send({ type: "kubelab:collect", id } satisfies Message);
      if (entry.pending.size === 0) entry.done();
    });
  };

  const fork = (): void => {
    const worker = cluster.fork();
    // A send races the worker's exit: isConnected() can still say yes while the channel closes, and the write then
    // fails with EPIPE as an 'error' event. The exit handler deals with the dead worker; unhandled, the error
    // would end the primary.
    worker.on("error", (err: Error) => { logger.debug({ worker: worker.id, err }, "Message to an exiting apiserver worker was lost"); });
    logger.info({ worker: worker.id, pid: worker.process.pid }, "Started apiserver worker");
  };

  cluster.on("message", (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === "kubelab:ready") {
      ready.add(worker.id);
      broadcast();
    } else if (message.type === "kubelab:metrics") {
      void collect().then(
        (text) => { if (worker.isConnected()) worker.send({ type: "kubelab:metrics-reply", id: message.id, text } satisfies Message); },
        (err: unknown) => { if (worker.isConnected()) worker.send({ type: "kubelab:metrics-reply", id: message.id, error: String(err) } satisfies Message); },
      );
    } else if (message.type === "kubelab:collected") {
      const entry = collecting.get(message.id);
      if (!entry) return;
      if (message.metrics) entry.metrics.push(message.metrics);
      entry.pending.delete(worker.id);
      if (entry.pending.size === 0) entry.done();
    }
  });

  const exited = new Promise<void>((resolve, reject) => {
    cluster.on("exit", (worker, code, exitSignal) => {
      ready.delete(worker.id);
      for (const entry of collecting.values()) {
        entry.pending.delete(worker.id);
        if (entry.pending.size === 0) entry.done();
      }
      if (stopping) {
        if (liveWorkers(cluster.workers).length === 0) resolve();
        return;
      }
      logger.warn({ worker: worker.id, pid: worker.process.pid, code, signal: exitSignal }, "apiserver worker exited; starting another");
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && crashes[0]! < now - crashWindowMs) crashes.shift();
      if (crashes.length >= maxCrashes) {
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
        reject(new Error(`${crashes.length} apiserver workers exited within ${crashWindowMs / 1000} s: giving up`));
        return;
      }
      broadcast();
      fork();
    });
  });

  signal.addEventListener("abort", () => {
    if (stopping) return;
    stopping = true;
    const live = liveWorkers(cluster.workers);
    if (live.length === 0) return;
    for (const w of live) {
      if (w.isConnected()) w.send({ type: "kubelab:stop" } satisfies Message);
      else w.process.kill("SIGTERM");
    }
  }, { once: true });

  const shared = await sharedWorkerFlags(options.apiserver, logger);
  cluster.setupPrimary({ args: [...process.argv.slice(2), ...shared.args] });
  logger.info({ workers: options.workers }, "Starting the apiserver as workers sharing its ports");
  try {
    if (signal.aborted) return;
    for (let i = 0; i < options.workers; i++) fork();
    await exited;
  } finally {
    shared.cleanup();
  }
}

/**
 * What a single apiserver would generate for itself at start but its workers must share, made once here: the
 * self-signed serving pair (written to --cert-dir, where every worker then finds it) and, with no key given, the
 * service account signing key (a token one worker issued must verify on the others), handed over as a flag.
 */
export async function sharedWorkerFlags(options: ApiServerOptions, logger: Logger): Promise<{ args: string[]; cleanup(): void }> {
  // Each worker opens etcd with the same flags; a bad file or a refused handshake stops the primary here, once,
  // instead of crashing every worker in turn.
  await etcdTlsAtStart(options);
  if (options.securePort !== 0 && options.tlsCertFile === undefined) {
    const advertise = options.advertiseAddress ?? defaultAdvertiseAddress(options.bindAddress);
    const serving = await servingCertificate({
      tlsCertFile: undefined,
      tlsPrivateKeyFile: undefined,
      certDir: options.certDir,
      ipAddresses: [advertise, formatIPv4(parseIPv4CIDR(options.serviceClusterIpRange).base + 1)],
    });
    if (serving.generated) logger.info({ certificate: serving.source }, "Generated self-signed cert");
  }
  const { generated } = await loadServiceAccountTokens({
    signingKeyFile: options.serviceAccountSigningKeyFile,
    keyFiles: options.serviceAccountKeyFile,
    issuer: options.serviceAccountIssuer,
    apiAudiences: [],
  });
  if (!generated) return { args: [], cleanup: () => undefined };
  // The same kind of key a single apiserver generates (auth/service-account-tokens.ts): ECDSA P-256, made in well under a ms.
  const pem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  removeOrphanedKeyDirs();
  const dir = mkdtempSync(join(tmpdir(), `${KEY_DIR_PREFIX}${process.pid}-`));
  const file = join(dir, "sa.key");
  writeFileSync(file, pem, { mode: 0o600 });
  logger.warn("no --service-account-signing-key-file or --service-account-key-file: the workers sign service account tokens with a key generated at start; they stop verifying when the apiserver restarts");
  return { args: [`--service-account-signing-key-file=${file}`], cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

/** The generated key's folder: `<tmpdir>/kube-apiserver-workers-<primary's pid>-<random>`. */
const KEY_DIR_PREFIX = "kube-apiserver-workers-";

/**
 * Removes the key folders of primaries that are gone: one ended by SIGKILL could not remove its own, and a private
 * key should not outlive its apiserver.
 */
function removeOrphanedKeyDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(KEY_DIR_PREFIX)) continue;
    const pid = Number(name.slice(KEY_DIR_PREFIX.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A worker's side: its link to the primary. */
export class WorkerLink implements WorkerGroup {
  private everyoneReady = false;
  private nextId = 0;
  private readonly replies = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private registry: Registry | undefined;
  private stopListeners: (() => void)[] = [];

  constructor() {
    process.on("message", (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.type === "kubelab:workers") this.everyoneReady = message.allReady;
      else if (message.type === "kubelab:metrics-reply") {
        const waiter = this.replies.get(message.id);
        this.replies.delete(message.id);
        if (message.text !== undefined) waiter?.resolve(message.text);
        else waiter?.reject(new Error(message.error ?? "no metrics"));
      } else if (message.type === "kubelab:collect") {
        void this.answerCollect(message.id);
      } else if (message.type === "kubelab:stop") {
        this.requestStop();
      }
    });
    // The primary is gone (killed): a worker alone is no apiserver anyone started.
    process.on("disconnect", () => { this.requestStop(); });
  }

  /** The registry this worker contributes to the aggregated /metrics. */
  serveMetrics(registry: Registry): void {
    this.registry = registry;
  }

  reportReady(): void {
    process.send?.({ type: "kubelab:ready" } satisfies Message);
  }

  /** Called once when the primary asks this worker to stop or goes away. */
  onStop(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  allReady(): boolean {
    return this.everyoneReady;
  }

  metrics(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      if (!process.connected || process.send === undefined) {
        reject(new Error("not connected to the primary"));
        return;
      }
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error("the primary did not answer within 6 s"));
      }, 6000);
      this.replies.set(id, {
        resolve: (text) => { clearTimeout(timer); resolve(text); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      });
      process.send({ type: "kubelab:metrics", id } satisfies Message);
    });
  }

  private async answerCollect(id: number): Promise<void> {
    let reply: Message;
    try {
      reply = { type: "kubelab:collected", id, metrics: this.registry ? await this.registry.getMetricsAsJSON() : [] };
    } catch (err) {
      reply = { type: "kubelab:collected", id, error: String(err) };
    }
    if (process.connected) process.send?.(reply);
  }

  private requestStop(): void {
    const listeners = this.stopListeners;
    this.stopListeners = [];
    for (const l of listeners) l();
  }
}
