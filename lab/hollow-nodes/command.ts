// `kubelab hollow-nodes`: read flags, build the client and the simulator, run until SIGTERM/SIGINT.
import { clientConfigFromFlags } from "../../client/kubeconfig.js";
import { RestClient, restClientMetrics } from "../../client/rest.js";
import { FlagError, parseCommandLine, usage } from "../../component-base/flags.js";
import { createLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { shutdownCheck, startHealthServer } from "../../component-base/server.js";
import { runUntilAborted } from "../../component-base/shutdown.js";
import { HollowNodes } from "./hollow-nodes.js";
import { hollowNodesFlags, resolveConfig, type HollowNodesConfig, type HollowNodesFlags } from "./options.js";

export const COMMAND = "kubelab hollow-nodes";
export const SUMMARY =
  "Simulates N nodes in one process, like kubemark's hollow kubelet: registers Nodes <name-prefix>-<index>, renews their Leases, and reports the pods bound to them Running (see lab/hollow-nodes/README.md). Killing the process is the nodes dying.";

export async function main(argv: readonly string[]): Promise<never> {
  const { flags } = parseCommandLine(hollowNodesFlags, argv, { command: COMMAND, summary: SUMMARY });
  const config = resolveOrExit(flags);
  const logger = createLogger("kubelab-hollow-nodes", { verbosity: flags.v });
  const registry = createRegistry();
  const client = new RestClient(clientConfigFromFlags({ master: flags.master, kubeconfig: flags.kubeconfig }), {
    qps: flags.kubeApiQps,
    burst: flags.kubeApiBurst,
    userAgent: "kubelab-hollow-node",
    metrics: restClientMetrics(registry),
    logger,
  });
  const hollow = new HollowNodes({ client, config, logger, registry });
  return runUntilAborted(logger, async (signal) => {
    const health =
      flags.port > 0
        ? await startHealthServer({ port: flags.port, bindAddress: flags.bindAddress, registry, logger, readyzChecks: [{ name: "informer-sync", check: () => hollow.hasSynced() }, shutdownCheck(signal)] })
        : undefined;
    try {
      await hollow.run(signal);
    } finally {
      await health?.close();
      client.close();
    }
  });
}

/** Flag values that parse but make no sense (a bad quantity, a zero count) are usage errors too: exit 2. */
function resolveOrExit(flags: HollowNodesFlags): HollowNodesConfig {
  try {
    return resolveConfig(flags);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`Error: ${err.message}\n${usage(hollowNodesFlags, { command: COMMAND })}`);
    return process.exit(2);
  }
}
