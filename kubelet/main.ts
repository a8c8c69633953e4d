#!/usr/bin/env node
// kubelet: registers this node, runs the pods bound to it through a CRI runtime and reports their status. Flags are
// Kubernetes' (see options.ts); the wiring is in app.ts, the pod lifecycle in pods/.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runKubelet } from "./app.js";
import { kubeletFlags } from "./options.js";

const flags = parseFlags(kubeletFlags, process.argv.slice(2), {
  command: "kubelet",
  summary:
    "The kubelet is the primary \"node agent\" that runs on each node. It registers the node with the apiserver, and makes sure that the containers described in the PodSpecs of the pods bound to it are running and healthy, through a CRI container runtime.",
});
const logger = createLogger("kubelet", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  await runKubelet(flags, signal, { registry: createRegistry(), logger });
});
