// The in-tree plugin registry: plugin name → factory. Which plugins run, in what order and with what score weight
// is configuration (see ../config.ts), not code.
import type { Handle, Plugin } from "../framework/interface.js";
import * as nodeAffinity from "./node-affinity.js";
import * as nodeName from "./node-name.js";
import * as nodePorts from "./node-ports.js";
import * as balancedAllocation from "./node-resources-balanced-allocation.js";
import * as nodeResourcesFit from "./node-resources-fit.js";
import * as nodeUnschedulable from "./node-unschedulable.js";
import * as selectorSpread from "./selector-spread.js";
import * as taintToleration from "./taint-toleration.js";

/** Builds a plugin from its args (pluginConfig[].args, `undefined` when none) and the scheduler's handle. */
export type PluginFactory = (args: unknown, handle: Handle) => Plugin;

export class Registry {
  private readonly factories = new Map<string, PluginFactory>();

  /** Throws if `name` is already registered: two plugins must never silently share a name. */
  register(name: string, factory: PluginFactory): this {
    if (this.factories.has(name)) throw new Error(`a plugin named ${name} already exists`);
    this.factories.set(name, factory);
    return this;
  }

  get(name: string): PluginFactory | undefined {
    return this.factories.get(name);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(): string[] {
    return [...this.factories.keys()];
  }
}

export function inTreeRegistry(): Registry {
  return new Registry()
    .register(nodeUnschedulable.NAME, nodeUnschedulable.create)
    .register(nodeName.NAME, nodeName.create)
    .register(taintToleration.NAME, taintToleration.create)
    .register(nodeAffinity.NAME, nodeAffinity.create)
    .register(nodePorts.NAME, nodePorts.create)
    .register(nodeResourcesFit.NAME, nodeResourcesFit.create)
    .register(balancedAllocation.NAME, balancedAllocation.create)
    .register(selectorSpread.NAME, selectorSpread.create);
}
