// The CRI gRPC service of the runtime daemon: runtime.v1.RuntimeService and runtime.v1.ImageService on a unix
// socket, each call decoded with client/cri/wire.ts, routed to the RuntimeBackend or ImageBackend, and answered
// with the backend's result or its CriError's status code (any other error is UNKNOWN, as from a Go runtime).
// The socket is created fresh (a stale one left by a killed daemon is removed; a live one means another daemon
// owns it, and starting fails) and is group-accessible only (0660): whoever can reach it can run containers.
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { CriError, GrpcStatus, toCriError } from "../client/cri/errors.js";
import { criService, type CriServiceName } from "../client/cri/proto.js";
import { NETWORK_READY, RUNTIME_READY, type RuntimeCondition } from "../client/cri/types.js";
import * as wire from "../client/cri/wire.js";
import type { Logger } from "../component-base/logging.js";
import { counter, exponentialBuckets, histogram, type Registry } from "../component-base/metrics.js";
import type { BackendCondition, BackendStatus, ImageBackend, RuntimeBackend } from "./backend.js";

/** The CRI version this daemon speaks, as VersionResponse.runtime_api_version. */
export const CRI_API_VERSION = "v1";
/** VersionResponse.version: the version of the kubelet-runtime API, as containerd and CRI-O report it. */
const KUBELET_API_VERSION = "0.1.0";

type Handler = (request: wire.WireObject) => Promise<wire.WireObject>;

/** The RuntimeService methods as handlers over the backend, keyed by their proto names. */
export function runtimeHandlers(backend: RuntimeBackend): Record<string, Handler> {
  const empty = {};
  return {
    Version: () => Promise.resolve({ version: KUBELET_API_VERSION, runtimeName: backend.name, runtimeVersion: backend.version, runtimeApiVersion: CRI_API_VERSION }),
    Status: async (req) => {
      const status = await backend.status();
      const info: Record<string, string> = {};
      if (Object.keys(status.degraded).length > 0) info.degraded = JSON.stringify(status.degraded);
      if (req.verbose === true) info.runtime = JSON.stringify({ name: backend.name, version: backend.version });
      return wire.statusResponse.encode({ conditions: runtimeConditions(status), info });
    },
    RuntimeConfig: () => Promise.resolve({ linux: { cgroupDriver: "CGROUPFS" } }),
    UpdateRuntimeConfig: async (req) => {
      const podCidr = wire.stringField(wire.messageField(wire.messageField(req, "runtimeConfig"), "networkConfig"), "podCidr");
      await backend.updatePodCidr(podCidr);
      return empty;
    },
    RunPodSandbox: async (req) => {
      if (wire.messageField(req, "config") === undefined) throw new CriError(GrpcStatus.INVALID_ARGUMENT, "RunPodSandboxRequest.config is required");
      const id = await backend.runPodSandbox(wire.podSandboxConfig.decode(req.config), wire.stringField(req, "runtimeHandler"));
      return { podSandboxId: id };
    },
    StopPodSandbox: async (req) => {
      await backend.stopPodSandbox(requiredId(req, "podSandboxId"));
      return empty;
    },
    RemovePodSandbox: async (req) => {
      await backend.removePodSandbox(requiredId(req, "podSandboxId"));
      return empty;
    },
    PodSandboxStatus: async (req) => wire.podSandboxStatusResponse.encode(await backend.podSandboxStatus(requiredId(req, "podSandboxId"))),
    ListPodSandbox: async (req) => {
      const items = await backend.listPodSandbox(wire.podSandboxFilter.decode(req.filter));
      return { items: items.map((s) => wire.podSandbox.encode(s)) };
    },
    CreateContainer: async (req) => {
      if (wire.messageField(req, "config") === undefined) throw new CriError(GrpcStatus.INVALID_ARGUMENT, "CreateContainerRequest.config is required");
      requiredId(req, "podSandboxId");
      return { containerId: await backend.createContainer(wire.createContainerRequest.decode(req)) };
    },
    StartContainer: async (req) => {
      await backend.startContainer(requiredId(req, "containerId"));
      return empty;
    },
    StopContainer: async (req) => {
      await backend.stopContainer(requiredId(req, "containerId"), Math.max(0, wire.numberField(req, "timeout")));
      return empty;
    },
    RemoveContainer: async (req) => {
      await backend.removeContainer(requiredId(req, "containerId"));
      return empty;
    },
    ListContainers: async (req) => {
      const items = await backend.listContainers(wire.containerFilter.decode(req.filter));
      return { containers: items.map((c) => wire.container.encode(c)) };
    },
    ContainerStatus: async (req) => wire.containerStatusResponse.encode(await backend.containerStatus(requiredId(req, "containerId"))),
    UpdateContainerResources: async (req) => {
      await backend.updateContainerResources(requiredId(req, "containerId"), wire.linuxContainerResources.decode(req.linux));
      return empty;
    },
    ReopenContainerLog: async (req) => {
      await backend.reopenContainerLog(requiredId(req, "containerId"));
      return empty;
    },
    ExecSync: async (req) => {
      const result = await backend.execSync(requiredId(req, "containerId"), wire.stringsField(req, "cmd"), Math.max(0, wire.numberField(req, "timeout")));
      return wire.execSyncResponse.encode(result);
    },
    Exec: async (req) => {
      requiredId(req, "containerId");
      return { url: await backend.exec(wire.execRequest.decode(req)) };
    },
    Attach: async (req) => {
      requiredId(req, "containerId");
      return { url: await backend.attach(wire.attachRequest.decode(req)) };
    },
    PortForward: async (req) => {
      requiredId(req, "podSandboxId");
      return { url: await backend.portForward(wire.portForwardRequest.decode(req)) };
    },
    ContainerStats: async (req) => ({ stats: wire.containerStats.encode(await backend.containerStats(requiredId(req, "containerId"))) }),
    ListContainerStats: async (req) => {
      const stats = await backend.listContainerStats(wire.containerStatsFilter.decode(req.filter));
      return { stats: stats.map((s) => wire.containerStats.encode(s)) };
    },
  };
}

/** The ImageService methods as handlers over the image backend. */
export function imageHandlers(backend: ImageBackend): Record<string, Handler> {
  return {
    PullImage: async (req) => {
      const request = wire.pullImageRequest.decode(req);
      if (request.image.image === "") throw new CriError(GrpcStatus.INVALID_ARGUMENT, "PullImageRequest.image.image is required");
      return { imageRef: await backend.pullImage(request) };
    },
    ListImages: async (req) => {
      const filter = wire.messageField(wire.messageField(req, "filter"), "image");
      const images = await backend.listImages(filter === undefined ? undefined : wire.imageSpec.decode(filter));
      return { images: images.map((i) => wire.image.encode(i)) };
    },
    ImageStatus: async (req) => {
      const spec = wire.imageSpec.decode(req.image);
      if (spec.image === "") throw new CriError(GrpcStatus.INVALID_ARGUMENT, "ImageStatusRequest.image.image is required");
      const found = await backend.imageStatus(spec);
      return found === undefined ? { info: {} } : { image: wire.image.encode(found), info: {} };
    },
    RemoveImage: async (req) => {
      const spec = wire.imageSpec.decode(req.image);
      if (spec.image === "") throw new CriError(GrpcStatus.INVALID_ARGUMENT, "RemoveImageRequest.image.image is required");
      await backend.removeImage(spec);
      return {};
    },
    ImageFsInfo: async () => wire.imageFsInfoResponse.encode(await backend.imageFsInfo()),
  };
}

function requiredId(req: wire.WireObject, field: string): string {
  const id = wire.stringField(req, field);
  if (id === "") throw new CriError(GrpcStatus.INVALID_ARGUMENT, `${field} must not be empty`);
  return id;
}

/**
 * RuntimeReady and NetworkReady from the backend's view; what the host refused is told in the runtime
 * condition's message even while it is ready, so a degraded runtime is never silently so.
 */
export function runtimeConditions(status: BackendStatus): RuntimeCondition[] {
  const degraded = Object.entries(status.degraded).map(([what, why]) => `${what}: ${why}`);
  const condition = (type: string, c: BackendCondition, notReadyReason: string, extra: string[]): RuntimeCondition => ({
    type,
    status: c.ready,
    reason: c.ready ? "" : (c.reason ?? notReadyReason),
    message: [c.message ?? "", ...(extra.length > 0 ? [`degraded: ${extra.join("; ")}`] : [])].filter((m) => m !== "").join("; "),
  });
  return [condition(RUNTIME_READY, status.runtime, "RuntimeNotReady", degraded), condition(NETWORK_READY, status.network, "NetworkPluginNotReady", [])];
}

export interface CriServerOptions {
  /** The unix socket path (not a URL). */
  socketPath: string;
  runtime: RuntimeBackend;
  images: ImageBackend;
  logger: Logger;
  registry: Registry;
}

export interface CriServer {
  readonly socketPath: string;
  /** Stops accepting calls, lets running ones finish (up to graceMs, then cancels them), removes the socket. */
  close(graceMs?: number): Promise<void>;
}

/** Serves both CRI services on the socket; resolves once it listens. */
export async function startCriServer(options: CriServerOptions): Promise<CriServer> {
  const { socketPath, logger } = options;
  await removeStaleSocket(socketPath);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o750 });
  const operations = counter(options.registry, {
    name: "kubelab_runtime_operations_total",
    help: "CRI calls served, by method and gRPC status code.",
    labelNames: ["operation", "code"] as const,
  });
  const latency = histogram(options.registry, {
    name: "kubelab_runtime_operations_duration_seconds",
    help: "Time to serve a CRI call, by method.",
    labelNames: ["operation"] as const,
    buckets: exponentialBuckets(0.0005, 4, 10),
  });

  const server = new Server();
  const add = (service: CriServiceName, handlers: Record<string, Handler>): void => {
    const definition = criService(service);
    const implementation: UntypedServiceImplementation = {};
    for (const name of Object.keys(definition)) {
      const handler = handlers[name] ?? ((): Promise<wire.WireObject> => Promise.reject(new CriError(GrpcStatus.UNIMPLEMENTED, `${service}.${name} is not implemented`)));
      implementation[name] = (call: ServerUnaryCall<wire.WireObject, wire.WireObject>, callback: sendUnaryData<wire.WireObject>): void => {
        const started = process.hrtime.bigint();
        Promise.resolve()
          .then(() => handler(call.request))
          .then(
            (response) => {
              operations.inc({ operation: name, code: "OK" });
              callback(null, response);
            },
            (err: unknown) => {
              const criError = toCriError(err);
              operations.inc({ operation: name, code: criError.codeName });
              if (criError.code === GrpcStatus.UNKNOWN || criError.code === GrpcStatus.INTERNAL) logger.error({ err, method: name }, "CRI call failed");
              else logger.debug({ method: name, code: criError.codeName, message: criError.message }, "CRI call refused");
              callback({ code: criError.code, details: criError.message });
            },
          )
          .finally(() => {
            latency.observe({ operation: name }, Number(process.hrtime.bigint() - started) / 1e9);
          });
      };
    }
    server.addService(definition, implementation);
  };
  add("RuntimeService", runtimeHandlers(options.runtime));
  add("ImageService", imageHandlers(options.images));

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  // Root-only, as containerd's and CRI-O's sockets: whoever can call the CRI can run anything as root on the node.
  chmodSync(socketPath, 0o600);
  logger.info({ socket: socketPath }, "Serving the CRI");

  return {
    socketPath,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }).finally(() => {
        rmSync(socketPath, { force: true });
      }),
  };
}

/** Removes a socket file nobody listens on; fails if a live process answers on it or the path is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => {
      resolve(false);
    });
  });
  if (live) throw new Error(`another process is serving on ${path}`);
  rmSync(path, { force: true });
}
