#!/usr/bin/env node
// Hollow nodes (dist/kubelet/hollow/main.js; `kubelab hollow-nodes` runs it): N real kubelets over a fake runtime
// in one process, like kubemark's hollow kubelet. A separate entry rather than a mode of the kubelet binary: its
// flags (--count, --name-prefix, capacities) are kubemark's, and most of the single kubelet's (--root-dir, the
// runtime endpoint, --port) mean nothing here. See README.md.
import { FlagError, parseCommandLine, usage } from "../../component-base/flags.js";
import { createLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { runUntilAborted } from "../../component-base/shutdown.js";
import { runHollowNodes } from "./hollow-nodes.js";
import { hollowNodesFlags, resolveConfig, type HollowNodesConfig, type HollowNodesFlags } from "./options.js";

const COMMAND = "kubelab hollow-nodes";
const SUMMARY =
  "Runs N kubelets in one process over a fake container runtime, like kubemark's hollow kubelet: they register Nodes <name-prefix>-<index>, renew their Leases and run the pods bound to them (see kubelet/hollow/README.md). Killing the process is the nodes dying.";

exitWithParent(process.env.KUBELAB_HOLLOW_PARENT_PID);
const { flags } = parseCommandLine(hollowNodesFlags, process.argv.slice(2), { command: COMMAND, summary: SUMMARY });
const config = resolveOrExit(flags);
const logger = createLogger("kubelab-hollow-nodes", { verbosity: flags.v });

await runUntilAborted(logger, async (signal) => {
  await runHollowNodes(flags, config, signal, { logger, registry: createRegistry() });
});

/** Flag values that parse but make no sense (a bad quantity, a zero count) are usage errors too: exit 2. */
function resolveOrExit(f: HollowNodesFlags): HollowNodesConfig {
  try {
    return resolveConfig(f);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`Error: ${err.message}\n${usage(hollowNodesFlags, { command: COMMAND })}`);
    return process.exit(2);
  }
}

/** Started by `kubelab hollow-nodes`: when that process is gone (even SIGKILLed), the nodes die with it at once. */
function exitWithParent(parentPid: string | undefined): void {
  if (parentPid === undefined || parentPid === "") return;
  const pid = Number(parentPid);
  setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      process.exit(137);
    }
  }, 500).unref();
}
