// ControllerRevisions: the immutable history snapshots DaemonSets and StatefulSets keep (`kubectl rollout history`).
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const CONTROLLER_REVISION_RESOURCES: readonly ResourceDefinition[] = [{ group: "apps", resource: "controllerrevisions", strategy: () => PLAIN_STRATEGY }];
