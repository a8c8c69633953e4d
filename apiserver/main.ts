#!/usr/bin/env node
// kube-apiserver: the Kubernetes API over etcd. The only process that opens etcd.
import { boundOldGenerationGrowth, growYoungGenerationUnderLoad } from "./v8-heap.js";
import cluster from "node:cluster";
import { givenFlags, parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { apiServerFlags } from "./options.js";
import { openEtcdStorage } from "./storage/open-storage.js";

const options = parseFlags(apiServerFlags, process.argv.slice(2), {
  command: "kube-apiserver",
  summary: "The Kubernetes API server validates and configures data for the api objects which include pods, services, replicationcontrollers, and others, and stores them in etcd.",
});
const logger = createLogger("kube-apiserver", { verbosity: options.v });

if (options.workers > 1 && cluster.isPrimary) {
  const { superviseWorkers } = await import("./workers.js");
  await runUntilAborted(logger, (signal) => superviseWorkers({ workers: options.workers, apiserver: options, logger, signal }));
} else {
  const log = cluster.isWorker && cluster.worker ? logger.child({ worker: cluster.worker.id }) : logger;
  await runUntilAborted(log, async (signal) => {
    // etcd starts reading the workload's prefixes while the rest of the apiserver loads (storage/open-storage.ts).
    const opened = await openEtcdStorage(options, true);
    const [{ startApiServer }, worker] = await Promise.all([
      import("./app.js"),
      cluster.isWorker ? import("./workers.js").then(({ WorkerLink }) => new WorkerLink()) : undefined,
    ]);
    // The primary's stop (or its death) is this worker's SIGTERM, unless a signal got here first.
    worker?.onStop(() => { if (!signal.aborted) process.kill(process.pid, "SIGTERM"); });
    const apiserver = await startApiServer(options, log, givenFlags(process.argv.slice(2)), worker, opened);
    growYoungGenerationUnderLoad();
    boundOldGenerationGrowth();
    if (!signal.aborted) await new Promise<void>((resolve) => { signal.addEventListener("abort", () => { resolve(); }, { once: true }); });
    await apiserver.stop();
  });
}
