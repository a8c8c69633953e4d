#!/usr/bin/env node
// kube-apiserver: the Kubernetes API over etcd. The only process that opens etcd.
import { growYoungGenerationUnderLoad } from "./v8-heap.js";
import { givenFlags, parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { startApiServer } from "./app.js";
import { apiServerFlags } from "./options.js";

const options = parseFlags(apiServerFlags, process.argv.slice(2), {
  command: "kube-apiserver",
  summary: "The Kubernetes API server validates and configures data for the api objects which include pods, services, replicationcontrollers, and others, and stores them in etcd.",
});
const logger = createLogger("kube-apiserver", { verbosity: options.v });

await runUntilAborted(logger, async (signal) => {
  const apiserver = await startApiServer(options, logger, givenFlags(process.argv.slice(2)));
  growYoungGenerationUnderLoad();
  await new Promise<void>((resolve) => { signal.addEventListener("abort", () => { resolve(); }, { once: true }); });
  await apiserver.stop();
});
