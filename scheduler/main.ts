#!/usr/bin/env node
// kube-scheduler: watches pods and nodes through the apiserver and binds every pending pod to a node. Flags are
// Kubernetes' (see options.ts); the wiring (informers, cache, queue, profiles, leader election) is in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { configFromFlags, runScheduler } from "./app.js";
import { schedulerFlags } from "./options.js";

const flags = parseFlags(schedulerFlags, process.argv.slice(2), {
  command: "kube-scheduler",
  summary:
    "The Kubernetes scheduler is a control plane process which assigns Pods to Nodes. The scheduler determines which Nodes are valid placements for each Pod in the scheduling queue according to constraints and available resources. The scheduler then ranks each valid Node and binds the Pod to a suitable Node.",
});
const logger = createLogger("kube-scheduler", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  // Fail fast on a bad --config before connecting anywhere.
  const config = configFromFlags(flags);
  logger.info({ profiles: config.profiles.map((p) => p.schedulerName), percentageOfNodesToScore: config.percentageOfNodesToScore }, "Starting kube-scheduler");
  await runScheduler(flags, signal, { registry: createRegistry(), logger, config });
});
