#!/usr/bin/env node
// metrics-server: scrapes every kubelet's /metrics/resource and serves metrics.k8s.io/v1beta1 (NodeMetrics,
// PodMetrics) behind the apiserver's aggregation layer, for `kubectl top`. Flags in options.ts; the wiring in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runMetricsServer } from "./app.js";
import { metricsServerFlags } from "./options.js";

const flags = parseFlags(metricsServerFlags, process.argv.slice(2), {
  command: "metrics-server",
  summary: "Scrapes the kubelets' resource metrics and serves the metrics.k8s.io API (NodeMetrics, PodMetrics) for kubectl top and autoscalers.",
});
const logger = createLogger("metrics-server", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  await runMetricsServer(flags, signal, { registry: createRegistry(), logger });
});
