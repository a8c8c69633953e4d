// kube-controller-manager's own part: while leading, every controller --controllers enables, sharing one REST
// client, one informer factory and one metrics registry. runComponent (client/component.ts) supplies those, the
// /healthz /readyz /metrics servers (plain on --port, HTTPS with delegated auth on --secure-port) and leader election (a Lease in kube-system). Losing leadership ends
// the process with an error, as in Kubernetes: a restarted process campaigns again with fresh caches instead of
// resuming with stale ones.
import { setMaxListeners } from "node:events";
import { runComponent } from "../client/component.js";
import { createEventRecorder, type EventRecorder } from "../client/event-recorder.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import { createRegistry, type Registry } from "../component-base/metrics.js";
import { CONTROLLER_SERVICE_ACCOUNTS, ControllerClientBuilder } from "./client-builder.js";
import { defaultRegistry, enabledControllers, type ControllerRegistry } from "./controllers/registry.js";
import type { Controller, ControllerContext } from "./controllers/types.js";
import { configFromOptions, controllerList, type ControllerManagerOptions } from "./options.js";

/**
 * Connections the controller-manager keeps to the apiserver for ordinary requests (watches have their own pool).
 * client-go multiplexes every request over one HTTP/2 connection; over HTTP/1.1 each concurrent request needs its own
 * socket, and a busy Node apiserver accepts roughly one new connection per event-loop turn, so a ReplicaSet's burst
 * of up to 500 creates that opened hundreds of fresh sockets waited seconds in the apiserver's accept queue while
 * requests on warm sockets were served in tens of milliseconds. A bounded pool keeps the burst on reused sockets.
 */
export const CONTROLLER_MANAGER_MAX_SOCKETS = 32;

export interface ControllerManagerDeps {
  clock?: Clock;
  /** The controllers to choose from; default defaultRegistry(). */
  registry?: ControllerRegistry;
  /** The metrics registry to publish on; default a fresh one with process metrics. */
  metrics?: Registry;
  /** Called once the health server listens (tests read the port). */
  onListening?: (port: number) => void;
  /** Called once the secure port listens (tests read the port). */
  onSecureListening?: (port: number) => void;
}

/**
 * Runs until `signal` aborts (then stops the controllers, releases the lease and resolves) or leadership is lost
 * (then throws LeaderElectionLostError). Invalid --controllers entries throw before anything starts.
 */
export async function runControllerManager(options: ControllerManagerOptions, logger: Logger, signal: AbortSignal, deps: ControllerManagerDeps = {}): Promise<void> {
  setMaxListeners(0, signal);
  const clock = deps.clock ?? realClock;
  const registry = deps.registry ?? defaultRegistry();
  const enabled = enabledControllers(registry, controllerList(options.controllers));
  const config = configFromOptions(options);
  const metrics = deps.metrics ?? createRegistry();
  await runComponent(signal, {
    name: "kube-controller-manager",
    // The plain port listens on --address; --bind-address is the secure port's.
    flags: { ...options, bindAddress: options.address },
    logger,
    registry: metrics,
    clock,
    maxSockets: CONTROLLER_MANAGER_MAX_SOCKETS,
    ...(deps.onListening ? { onListening: deps.onListening } : {}),
    secureServing: { flags: options, pairName: "kube-controller-manager", ...(deps.onSecureListening ? { onListening: deps.onSecureListening } : {}) },
    build: ({ client, informers }) => ({
      prepare: () => {
        logger.info({ controllers: enabled, leaderElect: options.leaderElect }, "Starting kube-controller-manager");
        return true;
      },
      run: async (runSignal) => {
        // Every informer, controller and worker listens on this one signal, far more than Node's warning threshold.
        setMaxListeners(0, runSignal);
        // With --use-service-account-credentials each controller writes (and records events) as its own service
        // account; otherwise every controller shares the controller-manager's client.
        const builder = options.useServiceAccountCredentials
          ? new ControllerClientBuilder(client, { qps: options.kubeApiQps, burst: options.kubeApiBurst, maxSockets: CONTROLLER_MANAGER_MAX_SOCKETS, registry: metrics, logger, clock })
          : undefined;
        const recorders = new Map<string, EventRecorder>();
        const contextFor = (name: string): ControllerContext => {
          const controllerClient = builder?.clientFor(name) ?? client;
          // Recorders are per identity and component: two controllers of one service account share them.
          const identity = builder ? (CONTROLLER_SERVICE_ACCOUNTS[name] ?? "") : "";
          return {
            client: controllerClient,
            informers,
            recorder: (component) => {
              const key = `${identity}/${component}`;
              let recorder = recorders.get(key);
              if (!recorder) {
                recorder = createEventRecorder({ client: controllerClient, component, clock, logger });
                recorders.set(key, recorder);
              }
              return recorder;
            },
            logger,
            metrics,
            clock,
            config,
          };
        };
        // Factories build their informers; those start together once every controller exists.
        const controllers: Controller[] = [];
        for (const name of enabled) {
          const factory = registry.get(name);
          if (!factory) continue;
          controllers.push(factory(contextFor(name)));
        }
        if (builder) await builder.prefetch(runSignal);
        informers.start(runSignal);
        const runs = controllers.map(async (controller) => {
          logger.info({ controller: controller.name }, "Starting controller");
          try {
            await controller.run(runSignal);
          } catch (err) {
            logger.error({ err, controller: controller.name }, "Controller failed");
          }
        });
        // Informers a controller asked for only inside run() start here.
        informers.start(runSignal);
        await Promise.all(runs);
        await informers.shutdown();
        await Promise.all([...recorders.values()].map((r) => r.stop()));
        builder?.close();
        logger.info("Controllers stopped");
      },
    }),
  });
}
