// What the scenario tests (../shared/scenarios, driven against a throw-away `kubelab up`) share: the HTTP requests a
// user makes with curl — from the host, from inside a node, from inside a pod — and `kubectl apply -f -`. Requests
// are curl or busybox wget, one connection each, so that a Service's load-balancing is what the answers show.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "../support/apiserver.js";
import type { CommandResult, TestLab } from "../../lab/up/throwaway.js";

/** `kubectl apply -f -` with the manifest on stdin. */
export function applyManifest(lab: TestLab, manifest: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("kubectl", ["--kubeconfig", lab.kubeconfig, "--cache-dir", join(lab.home, "kubectl-cache"), "apply", "-f", "-"], { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl apply: ${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(manifest);
  });
}

/** `curl -sS URL` from the host (outside every node); never rejects. */
export function curlFromHost(url: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "-m", "5", url], { encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `count` requests to `url`, one connection each, from the host, from inside `node` or from inside `pod` (with its
 * busybox wget), as one shell loop; resolves with the answers, one per request that got one.
 */
export async function answersTo(lab: TestLab, from: { node: string } | { pod: string } | "host", url: string, count: number): Promise<string[]> {
  // (busybox 1.35's `wget -T` crashes, hence `timeout`; `echo` ends every answer with one newline)
  const loop = (fetch: string): string => `for i in $(seq ${count}); do ${fetch} ${url}; echo; done`;
  let result: CommandResult;
  if (from === "host") result = await execShell(loop("curl -s -m 3"));
  else if ("node" in from) result = await lab.nodeExec(from.node, ["sh", "-c", loop("curl -s -m 3")]);
  else result = await lab.kubectl(["exec", from.pod, "--", "sh", "-c", loop("timeout 3 wget -qO-")]);
  return result.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

function execShell(script: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", script], { encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : 1, stdout, stderr });
    });
  });
}

/**
 * Sends batches of `batch` requests until the answers named `want` distinct backends (`nameOf` reads a backend's
 * name from an answer; undefined for an answer that names none); resolves with every name seen.
 */
export async function spreadOver(lab: TestLab, from: { node: string } | { pod: string } | "host", url: string, want: number, nameOf: (answer: string) => string | undefined, batch = 20, timeoutMs = 30_000): Promise<Set<string>> {
  const seen = new Set<string>();
  let last: string[] = [];
  try {
    return await waitFor(`${want} backends answering ${url}`, async () => {
      last = await answersTo(lab, from, url, batch);
      for (const answer of last) {
        const name = nameOf(answer);
        if (name !== undefined) seen.add(name);
      }
      return seen.size >= want ? seen : undefined;
    }, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${String(err)}; seen ${[...seen].join(", ")}; last answers: ${last.slice(0, 5).join(" / ")}`);
  }
}

/**
 * Runs `kubectl ARGS` until its output matches `pattern`, as a user re-runs `get` while a controller's status catches
 * up with the pods it counts; resolves with that output.
 */
export async function kubectlShows(lab: TestLab, args: readonly string[], pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  let last = "";
  try {
    return await waitFor(`kubectl ${args.join(" ")} matching ${String(pattern)}`, async () => {
      const result = await lab.kubectl(args);
      last = `${result.stdout}${result.stderr}`;
      return result.code === 0 && pattern.test(result.stdout) ? result.stdout : undefined;
    }, timeoutMs, 250);
  } catch (err) {
    throw new Error(`${String(err)}; last output:\n${last}`);
  }
}
