// Scheduler configuration: the subset of KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) kubelab
// understands, resolved against the default profile. Which plugins filter, which score and with what weight is
// data here, never code.
//
// Merging follows Kubernetes: a profile's `plugins.<point>.enabled` entries replace a default plugin of the same
// name in place (taking its weight) or are appended; `disabled` removes defaults by name, or all with "*".
// A score plugin's weight is the configured one, else its default-profile weight, else 1.
import { parse as parseYaml } from "yaml";
import { errorMessage } from "../api/errors.js";
import { isRecord } from "../api/meta.js";
import type { Pod } from "../api/types/index.js";
import type { Profile, WeightedPlugin } from "./framework/profile.js";
import { NAME as DEFAULT_PREEMPTION } from "./plugins/default-preemption.js";
import { NAME as IMAGE_LOCALITY } from "./plugins/image-locality.js";
import { NAME as INTER_POD_AFFINITY } from "./plugins/inter-pod-affinity.js";
import { NAME as NODE_AFFINITY } from "./plugins/node-affinity.js";
import { NAME as NODE_NAME } from "./plugins/node-name.js";
import { NAME as NODE_PORTS } from "./plugins/node-ports.js";
import { NAME as BALANCED_ALLOCATION } from "./plugins/node-resources-balanced-allocation.js";
import { NAME as NODE_RESOURCES_FIT } from "./plugins/node-resources-fit.js";
import { NAME as NODE_UNSCHEDULABLE } from "./plugins/node-unschedulable.js";
import { NAME as POD_TOPOLOGY_SPREAD } from "./plugins/pod-topology-spread.js";
import { NAME as TAINT_TOLERATION } from "./plugins/taint-toleration.js";
import { NAME as VOLUME_BINDING } from "./plugins/volume-binding.js";

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";

/** The profile that schedules `pod`: spec.schedulerName, with "" or absent meaning the default scheduler. */
export function schedulerNameOf(pod: Readonly<Pod>): string {
  const name = pod.spec?.schedulerName;
  return name === undefined || name === "" ? DEFAULT_SCHEDULER_NAME : name;
}

export interface SchedulerConfig {
  profiles: Profile[];
  /** 0: adaptive (50% − nodes/125, at least 5%, at least 100 nodes). */
  percentageOfNodesToScore: number;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
}

/**
 * Kubernetes 1.32's default filter order (without VolumeRestrictions, NodeVolumeLimits and VolumeZone): the first
 * failing plugin names a node's reason, so order is visible.
 */
const DEFAULT_FILTER = [NODE_UNSCHEDULABLE, NODE_NAME, TAINT_TOLERATION, NODE_AFFINITY, NODE_PORTS, NODE_RESOURCES_FIT, VOLUME_BINDING, POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY];

const DEFAULT_POST_FILTER = [DEFAULT_PREEMPTION];
const DEFAULT_RESERVE = [VOLUME_BINDING];
const DEFAULT_PRE_BIND = [VOLUME_BINDING];

/**
 * Kubernetes 1.32's default score plugins and weights. VolumeBinding's score (storage capacity scoring) is behind a
 * feature gate there and left out here. SelectorSpread is not among them.
 */
const DEFAULT_SCORE: readonly WeightedPlugin[] = [
  { name: TAINT_TOLERATION, weight: 3 },
  { name: NODE_AFFINITY, weight: 2 },
  { name: NODE_RESOURCES_FIT, weight: 1 },
  { name: POD_TOPOLOGY_SPREAD, weight: 2 },
  { name: INTER_POD_AFFINITY, weight: 2 },
  { name: BALANCED_ALLOCATION, weight: 1 },
  { name: IMAGE_LOCALITY, weight: 1 },
];

export function defaultProfile(schedulerName = DEFAULT_SCHEDULER_NAME): Profile {
  return { schedulerName, filter: [...DEFAULT_FILTER], postFilter: [...DEFAULT_POST_FILTER], reserve: [...DEFAULT_RESERVE], preBind: [...DEFAULT_PRE_BIND], score: DEFAULT_SCORE.map((p) => ({ ...p })), pluginArgs: new Map() };
}

export interface ConfigDefaults {
  schedulerName: string;
  percentageOfNodesToScore: number;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
}

export function defaultConfig(d: ConfigDefaults): SchedulerConfig {
  return {
    profiles: [defaultProfile(d.schedulerName)],
    percentageOfNodesToScore: d.percentageOfNodesToScore,
    podInitialBackoffMs: d.podInitialBackoffMs,
    podMaxBackoffMs: d.podMaxBackoffMs,
  };
}

/** A configuration file that cannot be used; the message names the field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Parses a KubeSchedulerConfiguration (YAML or JSON). Fields it leaves out take the values in `d` (the flags).
 * Throws ConfigError naming the bad field.
 */
export function parseConfig(text: string, d: ConfigDefaults): SchedulerConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`not YAML: ${errorMessage(err)}`);
  }
  if (!isRecord(doc)) throw new ConfigError("the configuration must be an object");
  if (doc.kind !== undefined && doc.kind !== "KubeSchedulerConfiguration") throw new ConfigError(`kind: expected KubeSchedulerConfiguration, got ${JSON.stringify(doc.kind)}`);
  const config = defaultConfig(d);
  config.percentageOfNodesToScore = optionalNumber(doc, "percentageOfNodesToScore", 0, 100) ?? d.percentageOfNodesToScore;
  const initial = optionalNumber(doc, "podInitialBackoffSeconds", 0, Infinity);
  if (initial !== undefined) config.podInitialBackoffMs = initial * 1000;
  const max = optionalNumber(doc, "podMaxBackoffSeconds", 0, Infinity);
  if (max !== undefined) config.podMaxBackoffMs = max * 1000;
  if (doc.profiles !== undefined) {
    if (!Array.isArray(doc.profiles) || doc.profiles.length === 0) throw new ConfigError("profiles: must be a non-empty list");
    const profiles: unknown[] = doc.profiles;
    config.profiles = profiles.map((p, i) => parseProfile(p, `profiles[${i}]`, d.schedulerName));
    const names = new Set<string>();
    for (const p of config.profiles) {
      if (names.has(p.schedulerName)) throw new ConfigError(`profiles: duplicate schedulerName ${JSON.stringify(p.schedulerName)}`);
      names.add(p.schedulerName);
    }
  }
  return config;
}

function parseProfile(raw: unknown, path: string, fallbackName: string): Profile {
  if (!isRecord(raw)) throw new ConfigError(`${path}: must be an object`);
  const name = raw.schedulerName ?? fallbackName;
  if (typeof name !== "string" || name === "") throw new ConfigError(`${path}.schedulerName: must be a non-empty string`);
  const profile = defaultProfile(name);
  const plugins = raw.plugins;
  if (plugins !== undefined) {
    if (!isRecord(plugins)) throw new ConfigError(`${path}.plugins: must be an object`);
    profile.filter = mergeSet(profile.filter.map((n) => ({ name: n, weight: 0 })), plugins.filter, `${path}.plugins.filter`).map((p) => p.name);
    profile.postFilter = mergeSet(profile.postFilter.map((n) => ({ name: n, weight: 0 })), plugins.postFilter, `${path}.plugins.postFilter`).map((p) => p.name);
    profile.reserve = mergeSet(profile.reserve.map((n) => ({ name: n, weight: 0 })), plugins.reserve, `${path}.plugins.reserve`).map((p) => p.name);
    profile.preBind = mergeSet(profile.preBind.map((n) => ({ name: n, weight: 0 })), plugins.preBind, `${path}.plugins.preBind`).map((p) => p.name);
    profile.score = mergeSet(profile.score, plugins.score, `${path}.plugins.score`);
  }
  if (raw.pluginConfig !== undefined) {
    if (!Array.isArray(raw.pluginConfig)) throw new ConfigError(`${path}.pluginConfig: must be a list`);
    const entries: unknown[] = raw.pluginConfig;
    entries.forEach((entry, i) => {
      if (!isRecord(entry) || typeof entry.name !== "string") throw new ConfigError(`${path}.pluginConfig[${i}].name: required`);
      profile.pluginArgs.set(entry.name, entry.args);
    });
  }
  return profile;
}

function mergeSet(defaults: readonly WeightedPlugin[], raw: unknown, path: string): WeightedPlugin[] {
  if (raw === undefined) return defaults.map((p) => ({ ...p }));
  if (!isRecord(raw)) throw new ConfigError(`${path}: must be an object`);
  const disabled = new Set(pluginList(raw.disabled, `${path}.disabled`).map((p) => p.name));
  const enabled = pluginList(raw.enabled, `${path}.enabled`);
  const defaultWeight = new Map(defaults.map((p) => [p.name, p.weight]));
  const custom = new Map(enabled.map((p) => [p.name, p]));
  const out: WeightedPlugin[] = [];
  const placed = new Set<string>();
  for (const p of defaults) {
    if (disabled.has("*") || disabled.has(p.name)) continue;
    const replacement = custom.get(p.name);
    out.push({ name: p.name, weight: replacement?.weight ?? p.weight });
    placed.add(p.name);
  }
  for (const p of enabled) {
    if (placed.has(p.name)) continue;
    out.push({ name: p.name, weight: p.weight ?? defaultWeight.get(p.name) ?? 1 });
    placed.add(p.name);
  }
  return out;
}

function pluginList(raw: unknown, path: string): { name: string; weight?: number }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${path}: must be a list`);
  const items: unknown[] = raw;
  return items.map((item, i) => {
    if (!isRecord(item) || typeof item.name !== "string" || item.name === "") throw new ConfigError(`${path}[${i}].name: required`);
    if (item.weight === undefined || item.weight === 0) return { name: item.name };
    if (typeof item.weight !== "number" || !Number.isInteger(item.weight) || item.weight < 0 || item.weight > 100) throw new ConfigError(`${path}[${i}].weight: must be an integer in 0..100`);
    return { name: item.name, weight: item.weight };
  });
}

function optionalNumber(doc: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${field}: must be a number in ${min}..${max}`);
  return v;
}
