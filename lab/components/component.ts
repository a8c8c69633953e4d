// A component is one process of a kubelab cluster described as data: what to run, with which arguments, on which
// ports, and how to tell that it is ready. Descriptors are plain values built from typed options (one builder per
// component in this folder); the process runner (lab/process/runner.ts) is the only code that turns one into a
// running process, so tests, benchmarks and `kubelab up` all launch components the same way.

/** Every kind of process kubelab launches. kube-proxy joins here. */
export type ComponentKind = "etcd" | "kube-apiserver" | "kube-scheduler" | "kube-controller-manager" | "hollow-nodes" | "container-runtime" | "kubelet" | "kube-proxy" | "cluster-dns" | "kube-state-metrics" | "metrics-server" | "kubelab-ui" | "prometheus";

/** What is executed: a native binary (found on PATH unless absolute), or a Node entry point run by this Node. */
export type Program = { kind: "binary"; path: string } | { kind: "node"; entry: string };

/**
 * How the runner decides a started component is ready: a 2xx answer from an HTTP(S) URL, or a line of its output
 * matching a pattern (for processes that pick their own port and print it).
 */
export type ReadinessProbe = { kind: "http"; url: string; /** verifies an https URL's server (the lab's CA) */ caFile?: string } | { kind: "log"; pattern: RegExp };

export interface Component {
  /** Unique among the processes of one owner; names its log file ("etcd", "scheduler-0"). */
  readonly name: string;
  readonly kind: ComponentKind;
  readonly program: Program;
  readonly args: readonly string[];
  /** The ports it listens on by role ("client", "peer", "http"); 0 means it picks its own. */
  readonly ports: Readonly<Record<string, number>>;
  /** Absent when the component has no way to say it is ready; starting it is then all there is. */
  readonly readiness?: ReadinessProbe;
  /** Its persistent state, kept across restarts of the process (etcd's data directory). */
  readonly dataDir?: string;
  /** Names of the components it talks to, so a launcher can start those first. */
  readonly links: readonly string[];
}

/** A flag value as typed options give it; undefined means "leave the flag out". */
export type FlagValue = string | number | boolean | undefined;

/** Renders flags as `--name=value` in the given order, leaving out the ones without a value. */
export function renderFlags(flags: readonly (readonly [name: string, value: FlagValue])[]): string[] {
  const out: string[] = [];
  for (const [name, value] of flags) {
    if (value === undefined) continue;
    out.push(`--${name}=${String(value)}`);
  }
  return out;
}

/** The executable and its argument vector for a component; `nodePath` runs Node entry points. */
export function commandLine(component: Component, nodePath: string): { command: string; args: string[] } {
  const { program } = component;
  switch (program.kind) {
    case "binary":
      return { command: program.path, args: [...component.args] };
    case "node":
      return { command: nodePath, args: [program.entry, ...component.args] };
  }
}

/** The loopback URL of one of the component's ports. */
export function loopbackUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}
