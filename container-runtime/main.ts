#!/usr/bin/env node
// kubelab-runtime: a node's container runtime, serving the Kubernetes CRI (runtime.v1) on a unix socket for the
// kubelet. Flags are in options.ts, the wiring in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runRuntime } from "./app.js";
import { runtimeFlags } from "./options.js";

const flags = parseFlags(runtimeFlags, process.argv.slice(2), {
  command: "kubelab-runtime",
  summary: "A container runtime for kubelab nodes: it runs pod sandboxes and containers for the kubelet, which talks to it over the Kubernetes Container Runtime Interface (CRI v1, gRPC) on a unix socket.",
});
const logger = createLogger("kubelab-runtime", { verbosity: flags.v });

await runUntilAborted(logger, (signal) => runRuntime(flags, signal, { logger, registry: createRegistry() }));
