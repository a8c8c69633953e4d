#!/usr/bin/env node
// kube-controller-manager: the control loops (ReplicationController, ReplicaSet, Deployment, ...) that drive the
// cluster's actual state towards the desired state, talking only to the apiserver.
import { createLogger } from "../component-base/logging.js";
import { runUntilAborted } from "../component-base/shutdown.js";
import { runControllerManager } from "./app.js";
import { parseControllerManagerFlags } from "./options.js";

const options = parseControllerManagerFlags(process.argv.slice(2));
const logger = createLogger("kube-controller-manager", { verbosity: options.v });

await runUntilAborted(logger, (signal) => runControllerManager(options, logger, signal));
