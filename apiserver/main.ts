#!/usr/bin/env node
// kube-apiserver: the Kubernetes API over etcd. The only process that opens etcd.
import { growYoungGenerationUnderLoad } from "./v8-heap.js";
import cluster from "node:cluster";
import { givenFlags, parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { startApiServer } from "./app.js";
import { apiServerFlags } from "./options.js";
import { superviseWorkers, WorkerLink } from "./workers.js";

const options = parseFlags(apiServerFlags, process.argv.slice(2), {
  command: "kube-apiserver",
  summary: "The Kubernetes API server validates and configures data for the api objects which include pods, services, replicationcontrollers, and others, and stores them in etcd.",
});
const logger = createLogger("kube-apiserver", { verbosity: options.v });

if (options.workers > 1 && cluster.isPrimary) {
  await runUntilAborted(logger, (signal) => superviseWorkers({ workers: options.workers, apiserver: options, logger, signal }));
} else {
  const worker = cluster.isWorker ? new WorkerLink() : undefined;
  const log = cluster.isWorker && cluster.worker ? logger.child({ worker: cluster.worker.id }) : logger;
  await runUntilAborted(log, async (signal) => {
    // The primary's stop (or its death) is this worker's SIGTERM, unless a signal got here first.
    worker?.onStop(() => { if (!signal.aborted) process.kill(process.pid, "SIGTERM"); });
    const apiserver = await startApiServer(options, log, givenFlags(process.argv.slice(2)), worker);
    growYoungGenerationUnderLoad();
    if (!signal.aborted) await new Promise<void>((resolve) => { signal.addEventListener("abort", () => { resolve(); }, { once: true }); });
    await apiserver.stop();
  });
}
