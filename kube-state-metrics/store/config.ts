// kube_namespace_*, kube_configmap_* and kube_secret_* families (kube-state-metrics' namespace, configmap and secret
// stores). Nothing here reads a ConfigMap's or Secret's data.
import type { ConfigMap, Namespace, Secret } from "../../api/types/index.js";
import type { FamilyGenerator, Labels, Sample } from "../exposition.js";
import { conditionSamples, createdSamples, family, metadataMapFamilies, sample, type FamilyOptions } from "./common.js";

type Generate<T> = (obj: Readonly<T>) => Sample[];

/** The resourceVersion as a number, when it is one (kube_*_metadata_resource_version). */
function resourceVersion(rv: string | undefined): Sample[] {
  const n = rv === undefined || rv === "" ? NaN : Number(rv);
  return Number.isFinite(n) ? [sample(n)] : [];
}

export function namespaceFamilies(opts: FamilyOptions): FamilyGenerator<Namespace>[] {
  const base = (n: Readonly<Namespace>): Labels => [["namespace", n.metadata.name ?? ""]];
  const f = (name: string, help: string, generate: Generate<Namespace>): FamilyGenerator<Namespace> => family<Namespace>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<Namespace>("namespace", base, opts),
    f("kube_namespace_created", "Unix creation timestamp", (n) => createdSamples(n.metadata)),
    f("kube_namespace_status_phase", "kubernetes namespace status phase.", (n) => {
      const phase = n.status?.phase ?? "Active";
      return (["Active", "Terminating"] as const).map((p) => sample(p === phase ? 1 : 0, ["phase", p]));
    }),
    f("kube_namespace_status_condition", "The condition of a namespace.", (n) => (n.status?.conditions ?? []).flatMap((c) => conditionSamples(c.status, "status", ["condition", c.type]))),
  ];
}

export function configMapFamilies(opts: FamilyOptions): FamilyGenerator<ConfigMap>[] {
  const base = (c: Readonly<ConfigMap>): Labels => [
    ["namespace", c.metadata.namespace ?? ""],
    ["configmap", c.metadata.name ?? ""],
  ];
  const f = (name: string, help: string, generate: Generate<ConfigMap>): FamilyGenerator<ConfigMap> => family<ConfigMap>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<ConfigMap>("configmap", base, opts),
    f("kube_configmap_info", "Information about configmap.", () => [sample(1)]),
    f("kube_configmap_created", "Unix creation timestamp", (c) => createdSamples(c.metadata)),
    f("kube_configmap_metadata_resource_version", "Resource version representing a specific version of the configmap.", (c) => resourceVersion(c.metadata.resourceVersion)),
  ];
}

export function secretFamilies(opts: FamilyOptions): FamilyGenerator<Secret>[] {
  const base = (s: Readonly<Secret>): Labels => [
    ["namespace", s.metadata.namespace ?? ""],
    ["secret", s.metadata.name ?? ""],
  ];
  const f = (name: string, help: string, generate: Generate<Secret>): FamilyGenerator<Secret> => family<Secret>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<Secret>("secret", base, opts),
    f("kube_secret_info", "Information about secret.", () => [sample(1)]),
    f("kube_secret_type", "Type about secret.", (s) => [sample(1, ["type", s.type ?? "Opaque"])]),
    f("kube_secret_created", "Unix creation timestamp", (s) => createdSamples(s.metadata)),
    f("kube_secret_metadata_resource_version", "Resource version representing a specific version of secret.", (s) => resourceVersion(s.metadata.resourceVersion)),
  ];
}
