#!/usr/bin/env node
// kube-proxy: programs this node's iptables so Service IPs and NodePorts reach the Service's endpoints. Flags are
// Kubernetes' (options.ts); the wiring is in app.ts, the rules in iptables/. --cleanup removes its rules and exits.
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { proxyConfigFromFlags, runKubeProxy } from "./app.js";
import { execRunner } from "./exec.js";
import { cleanupLeftovers } from "./iptables/cleanup.js";
import { kubeProxyFlags } from "./options.js";

const flags = parseFlags(kubeProxyFlags, process.argv.slice(2), {
  command: "kube-proxy",
  summary:
    "The Kubernetes network proxy runs on each node. It reflects Services as defined in the Kubernetes API on each node: traffic to a Service's cluster IP, external IPs and node ports is spread over the Service's ready endpoints.",
});
const logger = createLogger("kube-proxy", { verbosity: flags.v });

if (flags.cleanup) {
  try {
    const removed = await cleanupLeftovers(execRunner());
    logger.info({ removed }, "Removed kube-proxy's iptables rules");
    process.exit(0);
  } catch (err) {
    logger.error({ err }, "Cleanup failed");
    process.exit(1);
  }
}

await runUntilAborted(logger, async (signal) => {
  const config = proxyConfigFromFlags(flags);
  logger.info({ mode: config.mode, nodeName: config.nodeName, clusterCIDR: flags.clusterCidr, nodePortAddresses: config.nodePortAddresses }, "Starting kube-proxy");
  await runKubeProxy(flags, signal, { registry: createRegistry(), logger });
});
