// The `kubelab` command line: subcommands picked by the first argument, each parsing its own flags (and --help).
// Subcommands are data (a name, a one-line summary, a lazily imported entry point), so adding one is one entry
// here and each only loads its own code.
import { processIO, type CommandIO } from "../component-base/command-io.js";

export interface Subcommand {
  name: string;
  summary: string;
  /** Runs the subcommand with the arguments after its name. */
  run(argv: readonly string[]): Promise<unknown>;
}

export const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: "hollow-nodes",
    summary: "Simulate N nodes in one process (registers Nodes, renews Leases, runs bound pods as hollow pods)",
    run: async (argv) => (await import("./hollow-nodes/command.js")).main(argv),
  },
  {
    name: "image",
    summary: "Load a `docker save` / OCI layout tarball into a node's image store (image load FILE), or list it (image ls)",
    run: async (argv) => (await import("./image/command.js")).main(argv),
  },
  // The lab launcher (one node = one network namespace, every component a supervised process) goes here:
  //   up      start etcd, apiserver, scheduler, controller-manager and N nodes as supervised processes
  //   status  what runs, what restarted, where the kubeconfig is
  //   kill    kill a component or a node on purpose, to watch the cluster heal
  //   logs    a component's logs
];

export function helpText(commands: readonly Subcommand[] = SUBCOMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  const rows = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    "kubelab: run a kubelab cluster and take it apart.",
    "",
    "Usage:",
    "  kubelab <command> [flags]",
    "",
    "Commands:",
    ...rows,
    "",
    'Use "kubelab <command> --help" for the flags of a command.',
    "",
  ].join("\n");
}

/** Dispatches `argv` (without node and script); resolves with what the subcommand returns, or exits. */
export async function runCli(argv: readonly string[], io: CommandIO = processIO, commands: readonly Subcommand[] = SUBCOMMANDS): Promise<unknown> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(`Error: a command is required\n${helpText(commands)}`);
    return io.exit(2);
  }
  if (first === "--help" || first === "-h" || first === "help") {
    io.stdout(helpText(commands));
    return io.exit(0);
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    io.stderr(`Error: unknown command "${first}" for "kubelab"\n${helpText(commands)}`);
    return io.exit(2);
  }
  return command.run(rest);
}
