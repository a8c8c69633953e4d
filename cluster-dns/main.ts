#!/usr/bin/env node
// kubelab-dns: the cluster's DNS server (the role CoreDNS plays in Kubernetes). Answers names in the cluster domain
// from watched Services and EndpointSlices and forwards the rest upstream. Flags in options.ts, wiring in app.ts.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runClusterDns } from "./app.js";
import { clusterDnsFlags } from "./options.js";

const flags = parseFlags(clusterDnsFlags, process.argv.slice(2), {
  command: "kubelab-dns",
  summary: "The cluster DNS server: answers <service>.<namespace>.svc.<domain>, SRV, pod and PTR names per Kubernetes' DNS specification from the apiserver's Services and EndpointSlices, and forwards other names to the upstream resolvers.",
});
const logger = createLogger("kubelab-dns", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  await runClusterDns(flags, signal, { registry: createRegistry(), logger });
});
