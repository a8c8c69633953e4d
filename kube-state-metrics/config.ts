// The flags turned into what the server needs: which resources, which namespaces, which metric families, and the
// label/annotation allow-lists per resource. Mistakes are errors before anything connects.
import type { FlagValues } from "../component-base/flags.js";
import type { kubeStateMetricsFlags } from "./options.js";
import type { FamilyOptions } from "./store/common.js";
import { DEFAULT_RESOURCES, STORES, type ResourceStore } from "./store/registry.js";

export type KubeStateMetricsFlags = FlagValues<typeof kubeStateMetricsFlags>;

export interface KubeStateMetricsConfig {
  stores: readonly ResourceStore[];
  /** Namespaces to watch; empty: all. */
  namespaces: readonly string[];
  /** Namespaces whose objects are left out. */
  namespacesDenylist: ReadonlySet<string>;
  /** Whether a family is served (--metric-allowlist / --metric-denylist). */
  familyEnabled: (name: string) => boolean;
  /** Label and annotation allow-lists of one resource. */
  familyOptions: (resource: string) => FamilyOptions;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function commaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Parses "pods=[app,tier],deployments=[*]" into resource → keys; "*" as the resource applies to all. */
export function parseAllowList(text: string, flag: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let rest = text.trim();
  while (rest !== "") {
    const m = /^([a-z0-9*.-]+)=\[([^\]]*)\]\s*(?:,\s*|$)/.exec(rest);
    if (!m) throw new ConfigError(`--${flag}: cannot parse ${JSON.stringify(rest)}; want resource=[key,...],...`);
    out.set(m[1]!, commaList(m[2]!));
    rest = rest.slice(m[0].length);
  }
  return out;
}

function metricFilter(allow: string, deny: string): (name: string) => boolean {
  const compile = (list: string): RegExp[] =>
    commaList(list).map((r) => {
      try {
        return new RegExp(`^(?:${r})$`);
      } catch (err) {
        throw new ConfigError(`invalid metric regular expression ${JSON.stringify(r)}: ${String(err)}`);
      }
    });
  const allowed = compile(allow);
  const denied = compile(deny);
  if (allowed.length > 0 && denied.length > 0) throw new ConfigError("--metric-allowlist and --metric-denylist are mutually exclusive");
  if (allowed.length > 0) return (name) => allowed.some((r) => r.test(name));
  return (name) => !denied.some((r) => r.test(name));
}

export function configFromFlags(flags: KubeStateMetricsFlags): KubeStateMetricsConfig {
  const names = flags.resources.trim() === "" ? DEFAULT_RESOURCES : commaList(flags.resources);
  const stores = names.map((name) => {
    const store = STORES.find((s) => s.name === name);
    if (!store) throw new ConfigError(`--resources: resource ${JSON.stringify(name)} is not served (served: ${STORES.map((s) => s.name).join(", ")})`);
    return store;
  });
  const labels = parseAllowList(flags.metricLabelsAllowlist, "metric-labels-allowlist");
  const annotations = parseAllowList(flags.metricAnnotationsAllowlist, "metric-annotations-allowlist");
  return {
    stores: [...new Set(stores)],
    namespaces: commaList(flags.namespaces),
    namespacesDenylist: new Set(commaList(flags.namespacesDenylist)),
    familyEnabled: metricFilter(flags.metricAllowlist, flags.metricDenylist),
    familyOptions: (resource) => ({
      labelsAllowList: labels.get(resource) ?? labels.get("*") ?? [],
      annotationsAllowList: annotations.get(resource) ?? annotations.get("*") ?? [],
    }),
  };
}
