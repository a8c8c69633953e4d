// `npm run bench -- <name> [flags]`: runs one benchmark against real processes on loopback.
// Each benchmark is an entry in BENCHES; add `scheduler`, `deployment`, ... next to `apiserver`.
import { runApiServerBench } from "./apiserver.js";
import { runCleanups } from "./cluster.js";
import { runDnsBench } from "./dns.js";
import { runProxyBench } from "./proxy.js";
import { progress } from "./report.js";
import { runNodeBench } from "./node.js";
import { runSchedulerBench } from "./scheduler.js";
import { runWorkloadsBench } from "./workloads.js";

interface Bench {
  description: string;
  /** Runs the benchmark with the remaining arguments; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

const BENCHES: Record<string, Bench> = {
  apiserver: {
    description: "raw etcd txn/s vs pod creates/s (ratio), create latency, 10k-pod lists, 1,000-watcher fan-out, RSS, start → /readyz",
    run: runApiServerBench,
  },
  dns: {
    description: "kubelab-dns queries/s and p50/p99 latency from one client (Service A, search-path NXDOMAIN, forwarded, cached) vs a bare responder",
    run: runDnsBench,
  },
  proxy: {
    description: "kube-proxy (iptables, throw-away netns): full sync of 1,000 Services × 10 endpoints vs iptables-restore alone (ratio), one incremental change, network programming latency p50/p99 under churn",
    run: runProxyBench,
  },
  scheduler: {
    description: "pods/s binding 5,000 pending pods on 1,000 hollow nodes vs pod creates/s (ratio), scheduling latency, scheduler RSS, 1,000-replica Deployment → available",
    run: runSchedulerBench,
  },
  node: {
    description: "3-node `kubelab up` → all Ready, pod start-up p50/p99 (30 pods, vs raw runc run), replacement Ready after a delete, lab RSS idle and with 30 pods",
    run: runNodeBench,
  },
  workloads: {
    description: "DaemonSet on 1,000 hollow nodes → all ready, its RollingUpdate → all available, 200 Jobs → all Complete (Jobs/s): kubelab's controller-manager vs the real kube-controller-manager (KUBELAB_PEERS) in the same run (ratios)",
    run: runWorkloadsBench,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHES).map((n) => n.length));
  const list = Object.entries(BENCHES)
    .map(([name, b]) => `  ${name.padEnd(width)}  ${b.description}`)
    .join("\n");
  return `usage: npm run bench -- <name> [flags]   (<name> --help for its flags)\n\nbenchmarks:\n${list}\n`;
}

let interrupted = false;
function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) {
    // A second signal: give up on orderly cleanup; the exit hook still SIGKILLs children and removes etcd's data.
    process.exit(130);
  }
  interrupted = true;
  progress(`${signal}: stopping processes and removing etcd…`);
  void runCleanups(5_000).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  return bench.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Lingering keep-alive sockets or timers must not keep a finished benchmark alive.
    setTimeout(() => process.exit(code), 500).unref();
  },
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
