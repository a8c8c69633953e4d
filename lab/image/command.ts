// `kubelab image load FILE` / `kubelab image ls`: the node's image store, worked on by the runtime's own program
// (`kubelab-runtime image …`, dist/container-runtime/main.js) in a child process, since the lab does not link the
// runtime's code. The node is a lab's node-N (--node, in the lab at --home) or any runtime's --root.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { processIO, type CommandIO } from "../../component-base/command-io.js";
import { defineFlags, parseCommandLine, type ParseOptions } from "../../component-base/flags.js";
import { distEntry } from "../components/entries.js";
import { nodeIndex, nodePlan } from "../up/config.js";
import { readState } from "../up/state.js";

export const COMMAND = "kubelab image";
export const DEFAULT_RUNTIME_ROOT = "/var/lib/kubelab/runtime";

export const imageFlags = defineFlags({
  root: {
    type: "string",
    default: DEFAULT_RUNTIME_ROOT,
    help: "The node's runtime state directory (its kubelab-runtime --root); the images are in <root>/images. --node picks a lab node's instead.",
  },
  node: { type: "string", help: "A node of the lab at --home (node-N): its runtime's image store." },
  home: { type: "string", default: process.env.KUBELAB_HOME ?? path.join(homedir(), ".kubelab"), help: "The lab --node belongs to (default $KUBELAB_HOME or ~/.kubelab)." },
});

export const USAGE = `Usage:
  kubelab image load FILE --node node-N [--home DIR]   import a \`docker save\` tar or an OCI image layout (tar or directory) into a lab node's image store
  kubelab image load FILE [--root DIR]                 the same for the runtime whose --root is DIR
  kubelab image ls (--node node-N | --root DIR)         list a node's images

The node's running runtime sees a loaded image at once (no restart). --root defaults to ${DEFAULT_RUNTIME_ROOT}.
`;

/**
 * The `kubelab-runtime` arguments for `kubelab image <argv>`, or a usage mistake (exits 2 through `io`). A FILE is
 * made absolute, so it means the same whatever directory the child runs in.
 */
export function runtimeArgs(argv: readonly string[], io: CommandIO): string[] {
  const [verb, ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help") {
    io.stdout(USAGE);
    return io.exit(0);
  }
  if (verb !== "load" && verb !== "ls") {
    io.stderr(`Error: ${verb === undefined ? "a subcommand is required" : `unknown subcommand "image ${verb}"`}\n${USAGE}`);
    return io.exit(2);
  }
  const options: ParseOptions = { command: `${COMMAND} ${verb}`, allowPositionals: verb === "load", stdout: io.stdout, stderr: io.stderr, exit: io.exit };
  const { flags, positionals } = parseCommandLine(imageFlags, rest, options);
  const root = flags.node === undefined ? flags.root : nodeRoot(flags.node, flags.home, io);
  if (verb === "ls") return ["image", "ls", "--root", root];
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    io.stderr(`Error: image load takes exactly one FILE\n${USAGE}`);
    return io.exit(2);
  }
  return ["image", "load", path.resolve(file), "--root", root];
}

/** The runtime root of node `node` of the lab at `home`; a node that is not there is a mistake (exit 1). */
function nodeRoot(node: string, home: string, io: CommandIO): string {
  const name = /^\d+$/.test(node) ? `node-${node}` : node;
  const state = readState(path.resolve(home));
  const index = nodeIndex(name);
  if (state === undefined) {
    io.stderr(`Error: no lab at ${path.resolve(home)} (kubelab up starts one; --home names another)\n`);
    return io.exit(1);
  }
  if (index === undefined || !state.nodes.includes(name)) {
    io.stderr(`Error: no node ${name} in the lab at ${state.config.home} (nodes: ${state.nodes.join(", ")})\n`);
    return io.exit(1);
  }
  return nodePlan(state.config, index).runtimeRoot;
}

/** Runs the runtime's image command with this process's stdio and exits with its exit code. */
export async function main(argv: readonly string[], io: CommandIO = processIO, entry: string = distEntry("container-runtime")): Promise<never> {
  const args = runtimeArgs(argv, io);
  if (!existsSync(entry)) {
    io.stderr(`Error: ${entry} is missing: build kubelab first (npm run build)\n`);
    return io.exit(1);
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { stdio: "inherit" });
    child.once("error", reject);
    // Killed by a signal: a failure too.
    child.once("exit", (exitCode) => {
      resolve(exitCode ?? 1);
    });
  });
  return io.exit(code);
}
