// `kubelab hollow-nodes`: the hollow kubelets live in kubelet/hollow/ (processes never import each other), so this
// command runs their built entry (dist/kubelet/hollow/main.js) with the same arguments, passes SIGTERM/SIGINT on,
// and exits as it does. The flags and the behaviour are described in kubelet/hollow/README.md.
import { spawn } from "node:child_process";
import { distEntry } from "../components/entries.js";

export async function main(argv: readonly string[]): Promise<never> {
  // Killed with SIGKILL, this process cannot stop the child: the child watches for that and dies too.
  const child = spawn(process.execPath, [distEntry("kubelet/hollow"), ...argv], { stdio: "inherit", env: { ...process.env, KUBELAB_HOLLOW_PARENT_PID: String(process.pid) } });
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGINT", forward("SIGINT"));
  const code = await new Promise<number>((resolve) => {
    child.on("error", (err) => {
      process.stderr.write(`kubelab hollow-nodes: ${err.message}\n`);
      resolve(1);
    });
    child.on("exit", (exitCode, signal) => {
      resolve(exitCode ?? (signal === "SIGKILL" ? 137 : 143));
    });
  });
  return process.exit(code);
}
