// `kubelab hollow-nodes`: read flags, run the simulator as a component (client, health and metrics server) until
// SIGTERM/SIGINT.
import { runComponent } from "../../client/component.js";
import { FlagError, parseCommandLine, usage } from "../../component-base/flags.js";
import { createLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
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
  return runUntilAborted(logger, (signal) =>
    runComponent(signal, {
      name: "kubelab-hollow-node",
      flags,
      logger,
      registry,
      serve: flags.port > 0,
      build: ({ client }) => {
        const hollow = new HollowNodes({ client, config, logger, registry });
        return { readyzChecks: [{ name: "informer-sync", check: () => hollow.hasSynced() }], run: (s) => hollow.run(s) };
      },
    }),
  );
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
