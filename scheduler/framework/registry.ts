// A plugin registry: plugin name → factory. The framework instantiates a profile's plugins from one; which
// plugins exist is the registry's business, which of them run is the profile's.
import type { Handle, Plugin } from "./interface.js";

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
