// kubelab-ui's wiring: runComponent's client and informers (no health server of its own: the page's server answers
// /healthz, /readyz and /metrics on the same port), the rows kept current by the informers (cluster-watch.ts), the
// lab's components polled from its supervisor (lab-watch.ts), a chart sample every --sample-period, and the server.
import { setMaxListeners } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findResource } from "../api/resources.js";
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { CoreEvent, Endpoints, Node, Pod, Service } from "../api/types/core.js";
import { runComponent } from "../client/component.js";
import { LabControlClient } from "../client/lab-control.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import type { FlagValues } from "../component-base/flags.js";
import { Actions } from "./actions.js";
import { ClusterState } from "./cluster-state.js";
import { watchCluster } from "./cluster-watch.js";
import { NO_LAB, pollLab } from "./lab-watch.js";
import type { liveViewFlags } from "./options.js";
import { PodStartTracker, Sampler } from "./samples.js";
import { LiveViewServer } from "./server.js";
import type { LabInfo } from "./web/protocol.js";

export type LiveViewFlags = FlagValues<typeof liveViewFlags>;

export interface RunOptions {
  registry: Registry;
  logger: Logger;
  /** Called with the page's port once it listens. */
  onListening?: (port: number) => void;
}

const here = dirname(fileURLToPath(import.meta.url));
const requireFromHere = createRequire(import.meta.url);

/** The page's files: compiled beside this module (dist/live-view/web), uPlot and xterm.js from node_modules. */
export const WEB_DIR = join(here, "web");
export const VENDOR_FILES: Readonly<Record<string, string>> = {
  "uplot.iife.min.js": requireFromHere.resolve("uplot/dist/uPlot.iife.min.js"),
  "uplot.min.css": requireFromHere.resolve("uplot/dist/uPlot.min.css"),
  // Loaded only when a terminal is opened.
  "xterm.mjs": requireFromHere.resolve("@xterm/xterm/lib/xterm.mjs"),
  "xterm.css": requireFromHere.resolve("@xterm/xterm/css/xterm.css"),
};

function resource(group: string, plural: string): NonNullable<ReturnType<typeof findResource>> {
  const found = findResource(group, "v1", plural);
  if (found === undefined) throw new Error(`no resource ${plural}`);
  return found;
}

/** Serves the live view until `signal` aborts. */
export async function runLiveView(flags: LiveViewFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const { logger, registry } = opts;
  await runComponent(signal, {
    name: "kubelab-ui",
    flags: { master: flags.master, kubeconfig: flags.kubeconfig, kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst, port: flags.port, bindAddress: flags.address },
    logger,
    registry,
    serve: false,
    build: ({ client, informers, signal: stop }) => {
      setMaxListeners(0, stop);
      const lab = flags.labHome === undefined ? undefined : new LabControlClient(join(flags.labHome, "control.sock"));
      let labInfo: LabInfo = NO_LAB;
      const cluster = {
        pods: informers.forResource<Pod>(resource("", "pods")),
        nodes: informers.forResource<Node>(resource("", "nodes")),
        deployments: informers.forResource<Deployment>(resource("apps", "deployments")),
        replicaSets: informers.forResource<ReplicaSet>(resource("apps", "replicasets")),
        services: informers.forResource<Service>(resource("", "services")),
        endpoints: informers.forResource<Endpoints>(resource("", "endpoints")),
        events: informers.forResource<CoreEvent>(resource("", "events")),
      };
      const synced = { name: "informer-sync", check: () => Object.values(cluster).every((i) => i.hasSynced()) };
      // The server is made after the state it serves; until then there is nobody to flush to.
      let scheduleFlush = (): void => undefined;
      const state = new ClusterState({ onPending: () => { scheduleFlush(); } });
      const starts = new PodStartTracker();
      const unwatch = watchCluster(cluster, { state, starts });
      const sampler = new Sampler({
        scrape: async () => {
          const reply = await client.raw("GET", "/metrics");
          return typeof reply.body === "string" ? reply.body : "";
        },
        pods: () => {
          const pods = state.rows("pods");
          return { ready: pods.filter((p) => p.ready).length, total: pods.length };
        },
        starts,
      });
      const server = new LiveViewServer({
        address: flags.address,
        port: flags.port,
        state,
        samples: () => sampler.history(),
        lab: () => labInfo,
        actions: new Actions(client, lab),
        apiserver: client.config,
        webDir: WEB_DIR,
        vendor: VENDOR_FILES,
        readyzChecks: [synced],
        registry,
        logger,
      });
      scheduleFlush = () => { server.scheduleFlush(); };
      const timers: NodeJS.Timeout[] = [];
      return {
        readyzChecks: [synced],
        prepare: async () => {
          const port = await server.listen();
          logger.info({ address: flags.address, port, url: `http://${flags.address}:${port}/` }, "Serving the live view");
          opts.onListening?.(port);
          informers.start(stop);
          return informers.waitForCacheSync(stop);
        },
        run: async (runSignal) => {
          const sample = async (): Promise<void> => {
            server.broadcast({ type: "sample", sample: await sampler.sample() });
          };
          await sample();
          timers.push(setInterval(() => void sample(), flags.samplePeriod));
          if (lab !== undefined) {
            const poll = async (): Promise<void> => {
              const info = await pollLab(lab, state);
              if (JSON.stringify(info) !== JSON.stringify(labInfo)) {
                labInfo = info;
                server.broadcast({ type: "lab", lab: info });
              }
            };
            await poll();
            timers.push(setInterval(() => void poll(), flags.labPollPeriod));
          }
          await new Promise<void>((resolve) => {
            if (runSignal.aborted) resolve();
            else runSignal.addEventListener("abort", () => { resolve(); }, { once: true });
          });
        },
        close: async () => {
          for (const timer of timers) clearInterval(timer);
          unwatch();
          await server.close();
        },
      };
    },
  });
}
