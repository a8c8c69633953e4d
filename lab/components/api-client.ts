// The flags every apiserver client component shares (scheduler, controller-manager, hollow nodes, and the coming
// kubelet and kube-proxy): where the apiserver is, its client-side rate limits, and the health/metrics server.
import { loopbackUrl, renderFlags, type Component, type ComponentKind, type FlagValue, type ReadinessProbe } from "./component.js";
import { distEntry, type DistProgram } from "./entries.js";

export interface ApiClientOptions {
  /** Overrides the component's default name (it names the log file and the teardown step). */
  name?: string;
  /** --master: the apiserver URL. */
  master?: string;
  /** --kubeconfig. */
  kubeconfig?: string;
  /** --port of the /healthz, /readyz and /metrics server; 0 lets the process pick one (or serve none). */
  port?: number;
  /** The address of that server: --bind-address, or --address for the scheduler and controller-manager (whose
   *  --bind-address is their secure port's). */
  bindAddress?: string;
  /** --kube-api-qps (<= 0: unlimited). */
  kubeApiQps?: number;
  /** --kube-api-burst. */
  kubeApiBurst?: number;
  /** --v: log verbosity. */
  verbosity?: number;
  /** Further flags, passed as they are after the typed ones. */
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/<program>/main.js. */
  entry?: string;
}

/** The line a component's health server logs (as JSON) once it listens, with the port it got. */
const SERVING_LINE = /"port":(\d+)[^\n]*"msg":"Serving healthz and metrics"/;

/**
 * Readiness for a component started with --port=0: its health server has logged the port it picked. (Its /readyz
 * may still answer 503 then; servingPort gives the URL to poll.)
 */
export const SERVING_LOG_PROBE: ReadinessProbe = { kind: "log", pattern: SERVING_LINE };

/** The port a component's health server reported in `output`, or undefined while it has not. */
export function servingPort(output: string): number | undefined {
  const port = SERVING_LINE.exec(output)?.[1];
  return port === undefined ? undefined : Number(port);
}

/**
 * A component that talks to the apiserver: the shared flags in a fixed order, then its own, then extraArgs;
 * readiness is /readyz when its port is fixed (on port 0 a launcher cannot know the port in advance).
 */
export function apiClientComponent(
  kind: ComponentKind,
  program: DistProgram,
  options: ApiClientOptions,
  own: readonly (readonly [string, FlagValue])[] = [],
  subcommand: readonly string[] = [],
  addressFlag: "bind-address" | "address" = "bind-address",
): Component {
  const port = options.port ?? 0;
  const args = [
    ...subcommand,
    ...renderFlags([
      ["master", options.master],
      ["kubeconfig", options.kubeconfig],
      ["port", options.port],
      [addressFlag, options.bindAddress],
      ["kube-api-qps", options.kubeApiQps],
      ["kube-api-burst", options.kubeApiBurst],
      ["v", options.verbosity],
      ...own,
    ]),
    ...(options.extraArgs ?? []),
  ];
  return {
    name: options.name ?? kind,
    kind,
    program: { kind: "node", entry: options.entry ?? distEntry(program) },
    args,
    ports: { http: port },
    ...(port > 0 ? { readiness: { kind: "http", url: `${loopbackUrl(port)}/readyz` } } : {}),
    links: ["kube-apiserver"],
  };
}
