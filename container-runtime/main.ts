#!/usr/bin/env node
// kubelab-runtime: a node's container runtime, serving the Kubernetes CRI (runtime.v1) on a unix socket for the
// kubelet. Flags are in options.ts, the wiring in app.ts; `kubelab-runtime image …` works on the image store
// directly (image-command.ts).
import { processIO } from "../component-base/command-io.js";
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runRuntime } from "./app.js";
import { runImageCommand } from "./image-command.js";
import { runtimeFlags } from "./options.js";

const argv = process.argv.slice(2);
if (argv[0] === "image") await runImageCommand(argv.slice(1), processIO);

const flags = parseFlags(runtimeFlags, argv, {
  command: "kubelab-runtime",
  summary:
    "A container runtime for kubelab nodes: it runs pod sandboxes and containers for the kubelet, which talks to it over the Kubernetes Container Runtime Interface (CRI v1, gRPC) on a unix socket.\n\n" +
    "Subcommands (on the image store under --root, with or without a running daemon):\n" +
    "  kubelab-runtime image load FILE [--root DIR]   import a `docker save` tar or an OCI image layout\n" +
    "  kubelab-runtime image ls [--root DIR]          list the stored images\n" +
    "  kubelab-runtime image build dns [--root DIR | --output FILE]   build kubelab/dns (the cluster DNS server's image)",
});
const logger = createLogger("kubelab-runtime", { verbosity: flags.v });

await runUntilAborted(logger, (signal) => runRuntime(flags, signal, { logger, registry: createRegistry() }));
