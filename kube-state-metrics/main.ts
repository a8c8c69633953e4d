#!/usr/bin/env node
// kube-state-metrics: watches the cluster's objects through the apiserver and serves their state as Prometheus
// metrics with kube-state-metrics' names and labels. Flags in options.ts; the wiring in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runKubeStateMetrics } from "./app.js";
import { configFromFlags } from "./config.js";
import { kubeStateMetricsFlags } from "./options.js";

const flags = parseFlags(kubeStateMetricsFlags, process.argv.slice(2), {
  command: "kube-state-metrics",
  summary: "kube-state-metrics listens to the Kubernetes API server and generates metrics about the state of the objects (pods, nodes, deployments, services, ...).",
});
const logger = createLogger("kube-state-metrics", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  // Fail fast on bad flags before connecting anywhere.
  const config = configFromFlags(flags);
  logger.info({ resources: config.stores.map((s) => s.name) }, "Starting kube-state-metrics");
  await runKubeStateMetrics(flags, signal, { registry: createRegistry(), logger, config });
});
