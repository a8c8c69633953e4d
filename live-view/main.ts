#!/usr/bin/env node
// kubelab-ui: the live web view of a cluster (and of a lab's own processes), on the host's loopback. It reads the
// cluster only through the apiserver, like any client, and pushes what changes to the page over a WebSocket.
// Flags in options.ts; the wiring in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runLiveView } from "./app.js";
import { liveViewFlags } from "./options.js";

const flags = parseFlags(liveViewFlags, process.argv.slice(2), {
  command: "kubelab-ui",
  summary: "kubelab-ui serves a live web view of the cluster (nodes and their pods, deployments, services, events, the lab's components, charts) with actions: delete a pod, scale, cordon, kill/stop/start a component.",
});
const logger = createLogger("kubelab-ui", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  await runLiveView(flags, signal, { registry: createRegistry(), logger });
});
