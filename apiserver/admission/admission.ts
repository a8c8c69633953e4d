// The apiserver's admission chain: plugins that see an object after defaulting and before it is stored, in two
// phases as in Kubernetes — mutating plugins may change it (defaults from a LimitRange, the service-account token
// volume), validating plugins run after the kind's own validation and may only refuse (a 403 StatusError) or
// charge something (a ResourceQuota's usage) that they give back when the write fails.
// Which plugins run is chosen with kube-apiserver's --enable-admission-plugins / --disable-admission-plugins.
// The kind-specific admission that predates this chain (Priority, RuntimeClass, DefaultTolerationSeconds) stays in
// the kind modules (registry/pods, registry/scheduling).
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/resources.js";
import type { StoreLookup } from "../registry/kind.js";
import type { StoreHooks, WriteAttributes } from "../registry/store.js";

/** What a plugin sees of one write. */
export interface AdmissionAttributes {
  readonly operation: "CREATE";
  readonly info: ResourceInfo;
  /** The object being written; mutating plugins edit it in place. */
  readonly object: KubeObject;
  readonly namespace: string | undefined;
  readonly dryRun: boolean;
  /** The stores of other resources (ServiceAccounts, LimitRanges, ResourceQuotas, StorageClasses). */
  readonly storeFor: StoreLookup;
}

/** A create, update or delete with the user who makes it (NodeRestriction's view of a write). */
export interface WriteAdmissionAttributes extends WriteAttributes {
  readonly info: ResourceInfo;
  readonly storeFor: StoreLookup;
}

/** Gives back what a validating plugin charged when the write then fails. */
export type Undo = () => Promise<void>;

export interface AdmissionPlugin {
  /** Kubernetes' plugin name, as the flags spell it. */
  readonly name: string;
  /** Whether the plugin runs when the flags do not mention it. */
  readonly enabledByDefault: boolean;
  /** Mutating phase: may edit `attributes.object`, or throw a StatusError. */
  mutate?(attributes: AdmissionAttributes): Promise<void>;
  /** Validating phase: may throw a StatusError, or charge something and return its undo. */
  validate?(attributes: AdmissionAttributes): Promise<Undo | undefined>;
  /** Validating phase of every write, with its user and the stored object: may only refuse (throw a StatusError). */
  admitWrite?(attributes: WriteAdmissionAttributes): Promise<void>;
}

/** The plugins that run, in order. */
export class AdmissionChain {
  constructor(readonly plugins: readonly AdmissionPlugin[]) {}

  get names(): string[] {
    return this.plugins.map((p) => p.name);
  }

  // Plugins without a phase are passed over without an await (each one costs a turn of the microtask queue).
  async mutate(attributes: AdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) if (plugin.mutate !== undefined) await plugin.mutate(attributes);
  }

  async admitWrite(attributes: WriteAdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) if (plugin.admitWrite !== undefined) await plugin.admitWrite(attributes);
  }

  /** Runs every validating plugin; when one refuses, what the earlier ones charged is given back. */
  async validate(attributes: AdmissionAttributes): Promise<Undo | undefined> {
    const undos: Undo[] = [];
    const undoAll = async (): Promise<void> => {
      for (const undo of undos.reverse()) await undo();
    };
    try {
      for (const plugin of this.plugins) {
        if (plugin.validate === undefined) continue;
        const undo = await plugin.validate(attributes);
        if (undo) undos.push(undo);
      }
    } catch (err) {
      await undoAll();
      throw err;
    }
    return undos.length > 0 ? undoAll : undefined;
  }
}

/** Thrown at start for flags naming a plugin kubelab does not have. */
export class UnknownAdmissionPluginError extends Error {
  override name = "UnknownAdmissionPluginError";
}

/**
 * The chain the flags select from `available` (in its order): the plugins enabled by default, plus `enable`, minus
 * `disable`. Both are comma-separated lists of plugin names; a name kubelab does not know is an error.
 */
export function selectPlugins(available: readonly AdmissionPlugin[], enable: string, disable: string): AdmissionChain {
  const known = new Set(available.map((p) => p.name));
  const parse = (list: string, flag: string): Set<string> => {
    const names = new Set(list.split(",").map((s) => s.trim()).filter((s) => s !== ""));
    for (const name of names) {
      if (!known.has(name)) throw new UnknownAdmissionPluginError(`${flag}: admission-control plugin "${name}" is unknown (kubelab has ${[...known].join(", ")})`);
    }
    return names;
  };
  const enabled = parse(enable, "--enable-admission-plugins");
  const disabled = parse(disable, "--disable-admission-plugins");
  for (const name of enabled) {
    if (disabled.has(name)) throw new UnknownAdmissionPluginError(`${name} plugin is both enabled and disabled`);
  }
  return new AdmissionChain(available.filter((p) => !disabled.has(p.name) && (p.enabledByDefault || enabled.has(p.name))));
}

/**
 * A store's hooks with the chain around the kind's own: the kind's admitCreate first, then the mutating plugins;
 * the validating plugins after the object passed validation.
 */
export function withAdmission(hooks: StoreHooks | undefined, chain: AdmissionChain | undefined, info: ResourceInfo, storeFor: StoreLookup): StoreHooks | undefined {
  if (!chain || chain.plugins.length === 0) return hooks;
  const attributes = (object: KubeObject, dryRun: boolean): AdmissionAttributes => ({ operation: "CREATE", info, object, namespace: object.metadata.namespace, dryRun, storeFor });
  const writes = chain.plugins.some((p) => p.admitWrite !== undefined);
  return {
    ...hooks,
    ...(writes ? { admitWrite: (write: WriteAttributes) => chain.admitWrite({ ...write, info, storeFor }) } : {}),
    admitCreate: async (object, dryRun) => {
      if (hooks?.admitCreate !== undefined) await hooks.admitCreate(object, dryRun);
      await chain.mutate(attributes(object, dryRun));
    },
    validateCreate: async (object, dryRun) => {
      const own = hooks?.validateCreate === undefined ? undefined : await hooks.validateCreate(object, dryRun);
      try {
        const charged = await chain.validate(attributes(object, dryRun));
        if (!own) return charged;
        return async () => {
          await charged?.();
          await own();
        };
      } catch (err) {
        await own?.();
        throw err;
      }
    },
  };
}
