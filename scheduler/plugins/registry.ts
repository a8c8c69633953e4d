// The in-tree plugin registry: every plugin shipped with the scheduler, under its name. Which plugins run, in
// what order and with what score weight is configuration (see ../config.ts), not code.
import { Registry } from "../framework/registry.js";
import * as defaultPreemption from "./default-preemption.js";
import * as imageLocality from "./image-locality.js";
import * as interPodAffinity from "./inter-pod-affinity.js";
import * as nodeAffinity from "./node-affinity.js";
import * as nodeName from "./node-name.js";
import * as nodePorts from "./node-ports.js";
import * as balancedAllocation from "./node-resources-balanced-allocation.js";
import * as nodeResourcesFit from "./node-resources-fit.js";
import * as nodeUnschedulable from "./node-unschedulable.js";
import * as podTopologySpread from "./pod-topology-spread.js";
import * as selectorSpread from "./selector-spread.js";
import * as taintToleration from "./taint-toleration.js";
import * as volumeBinding from "./volume-binding.js";

export function inTreeRegistry(): Registry {
  return new Registry()
    .register(nodeUnschedulable.NAME, nodeUnschedulable.create)
    .register(nodeName.NAME, nodeName.create)
    .register(taintToleration.NAME, taintToleration.create)
    .register(nodeAffinity.NAME, nodeAffinity.create)
    .register(nodePorts.NAME, nodePorts.create)
    .register(nodeResourcesFit.NAME, nodeResourcesFit.create)
    .register(balancedAllocation.NAME, balancedAllocation.create)
    .register(selectorSpread.NAME, selectorSpread.create)
    .register(podTopologySpread.NAME, podTopologySpread.create)
    .register(interPodAffinity.NAME, interPodAffinity.create)
    .register(imageLocality.NAME, imageLocality.create)
    .register(defaultPreemption.NAME, defaultPreemption.create)
    .register(volumeBinding.NAME, volumeBinding.create);
}
