// The runtime daemon's wiring: the backends --backend names, over state under --root, behind the CRI gRPC server
// on --listen, with /healthz and /metrics on --port, and the streaming server for exec, attach and port-forward
// sessions on --streaming-address/--streaming-port. The backends start before the socket is served, so a client
// that connects sees the recovered sandboxes and containers at once.
import { join } from "node:path";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { startHealthServer, type HealthServer } from "../component-base/server.js";
import type { ImageBackend, RuntimeBackend } from "./backend.js";
import { FakeImageBackend } from "./fake/fake-images.js";
import { FakeRuntimeBackend } from "./fake/fake-runtime.js";
import { ImageStore } from "./images/store.js";
import { RegistryPuller } from "./images/registry-puller.js";
import { OciImageBackend } from "./oci-backend/images.js";
import { OciRuntimeBackend } from "./oci-backend/runtime.js";
import { OciRuntime } from "./oci/index.js";
import { backendName, type RuntimeFlags } from "./options.js";
import { startCriServer } from "./server.js";
import { StreamingServer, type StreamRegistrar } from "./streaming/server.js";

export interface Backends {
  runtime: RuntimeBackend;
  images: ImageBackend;
}

/** The backends the flags ask for, not yet started. */
export function createBackends(flags: RuntimeFlags, logger?: Logger, streaming?: StreamRegistrar): Backends {
  const streamingOption = streaming !== undefined ? { streaming } : {};
  switch (backendName(flags.backend)) {
    case "oci": {
      const images = new OciImageBackend({ store: new ImageStore({ root: join(flags.root, "images") }), puller: new RegistryPuller(), pinned: [flags.pauseImage] });
      const oci = new OciRuntime({ stateDir: flags.runtimeRoot, cniConfigDir: flags.cniConfigDir, cniBinDirs: [flags.cniPluginDir], ...(logger !== undefined ? { logger } : {}) });
      const runtime = new OciRuntimeBackend({
        stateDir: join(flags.root, "oci"),
        oci,
        images,
        cniConfigDir: flags.cniConfigDir,
        ipamDataDir: join(flags.root, "cni-ipam"),
        defaultLogDir: join(flags.root, "logs"),
        ...(flags.podCidr !== undefined ? { podCidr: flags.podCidr } : {}),
        ...streamingOption,
        ...(logger !== undefined ? { logger } : {}),
      });
      return { runtime, images };
    }
    case "fake": {
      const images = new FakeImageBackend({ stateDir: join(flags.root, "fake"), pinned: [flags.pauseImage] });
      const runtime = new FakeRuntimeBackend({ stateDir: join(flags.root, "fake"), images, ...(flags.podCidr !== undefined ? { podCidr: flags.podCidr } : {}), ...streamingOption });
      return { runtime, images };
    }
  }
}

export interface RuntimeDeps {
  logger: Logger;
  registry: Registry;
  /** Injected by tests; by default from the flags. */
  backends?: Backends;
}

/** Serves until `signal` aborts, then closes the socket and the backends (the containers keep running). */
export async function runRuntime(flags: RuntimeFlags, signal: AbortSignal, deps: RuntimeDeps): Promise<void> {
  const { logger, registry } = deps;
  // The streaming server listens before the backends start, so that Exec can name it from the first call.
  const streaming = new StreamingServer({ address: flags.streamingAddress, port: flags.streamingPort, logger });
  await streaming.start();
  const { runtime, images } = deps.backends ?? createBackends(flags, logger, streaming);
  try {
    await images.start();
    await runtime.start();
  } catch (err) {
    await streaming.close();
    throw err;
  }
  const status = await runtime.status();
  for (const [what, why] of Object.entries(status.degraded)) logger.warn({ what, why }, "Running degraded");
  if (!status.runtime.ready) logger.warn({ reason: status.runtime.reason, message: status.runtime.message }, "Runtime not ready");
  if (!status.network.ready) logger.warn({ reason: status.network.reason, message: status.network.message }, "Network not ready");

  const server = await startCriServer({ socketPath: flags.listen, runtime, images, logger, registry });
  let health: HealthServer | undefined;
  try {
    if (flags.port > 0) health = await startHealthServer({ port: flags.port, bindAddress: flags.bindAddress, registry, logger });
    logger.info({ backend: flags.backend, runtime: runtime.name, version: runtime.version, root: flags.root }, "kubelab-runtime started");
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => { resolve(); }, { once: true });
    });
  } finally {
    await health?.close();
    await server.close();
    await streaming.close();
    await runtime.close();
    await images.close();
  }
}
