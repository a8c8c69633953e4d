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
    summary: "Run N kubelets over a fake runtime in one process (kubemark's hollow nodes: register Nodes, renew Leases, run bound pods)",
    run: async (argv) => (await import("./hollow-nodes/command.js")).main(argv),
  },
  {
    name: "image",
    summary: "Load a `docker save` / OCI layout tarball into a node's image store (image load FILE), or list it (image ls)",
    run: async (argv) => (await import("./image/command.js")).main(argv),
  },
  {
    name: "node",
    summary: "Run this container as a node: runtime, kubelet and kube-proxy, supervised (docker-compose.yml's node services)",
    run: async (argv) => (await import("./compose/commands.js")).nodeCommand(argv),
  },
  {
    name: "publish",
    summary: "Relay the host's 127.0.0.1:6443 to the apiserver on the compose network and write the host's kubeconfig",
    run: async (argv) => (await import("./compose/commands.js")).publishCommand(argv),
  },
  // MARK compose-secure: compose's new sub-commands (e.g. making the cluster's PKI at compose start) below
  {
    name: "pki",
    summary: "Make the cluster's PKI in kubeadm's layout, or what is missing of it (docker-compose.yml's pki service)",
    run: async (argv) => (await import("./compose/commands.js")).pkiCommand(argv),
  },
  {
    name: "addons",
    summary: "Create, as the admin, the lab tools' RBAC, the cluster DNS and the default StorageClass (docker-compose.yml's addons service)",
    run: async (argv) => (await import("./compose/commands.js")).addonsCommand(argv),
  },
  ...labCommands([
    ["up", "upCommand", "Start a lab (secure by default, as kubeadm sets one up; --insecure: the 0.18 plain-HTTP lab): control plane on the host, N nodes (network namespaces with a runtime, a kubelet and kube-proxy), the cluster DNS, supervised; returns when every node is Ready"],
    ["status", "statusCommand", "Every component of the lab: node, pid, state, restarts, uptime, health, metrics URL (-o json|wide)"],
    ["kill", "killCommand", "Send a signal to a component (kill runtime --node node-1); it is restarted with backoff unless --no-restart"],
    ["stop", "stopCommand", "Stop a component and keep it stopped"],
    ["start", "startCommand", "Start a stopped component again"],
    ["node-exec", "nodeExecCommand", "Run a command in a node's network namespace (node-exec node-1 -- curl POD_IP:8080)"],
    ["logs", "logsCommand", "A component's log (logs kubelet --node node-1 -f)"],
    ["add-node", "addNodeCommand", "Add a node to the lab"],
    ["remove-node", "removeNodeCommand", "Remove a node from the lab"],
    ["down", "downCommand", "Remove everything the lab made (also after a crash of its supervisor)"],
    ["supervise", "superviseCommand", "(internal) the detached process that `up` starts to own the lab's processes"],
  ]),
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

type LabCommandName = "upCommand" | "statusCommand" | "killCommand" | "stopCommand" | "startCommand" | "nodeExecCommand" | "logsCommand" | "addNodeCommand" | "removeNodeCommand" | "downCommand" | "superviseCommand";

/** The lab's subcommands, all in lab/up/commands.ts (loaded on use). */
function labCommands(rows: readonly (readonly [name: string, fn: LabCommandName, summary: string])[]): Subcommand[] {
  return rows.map(([name, fn, summary]) => ({ name, summary, run: async (argv) => (await import("./up/commands.js"))[fn](argv) }));
}
