// Pod (anti-)affinity terms compiled once per pod (k8s framework/types.go AffinityTerm): which pods a term selects
// (labelSelector, in which namespaces) and over which topology. Shared by InterPodAffinity and the NodeInfo counts.
import { selectorFromLabelSelector, type Selector } from "../../api/labels.js";
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from "../../api/types/index.js";

/** A namespace's labels by name; undefined when the namespace is unknown. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>> | undefined;

export interface AffinityTerm {
  readonly topologyKey: string;
  readonly selector: Selector;
  /** Namespaces named in the term (or the pod's own when the term names none and has no namespaceSelector). */
  readonly namespaces: ReadonlySet<string>;
  /** namespaceSelector; an empty one selects every namespace. */
  readonly namespaceSelector: Selector | undefined;
  /** 1 for required terms; the term's weight for preferred ones. */
  readonly weight: number;
}

export interface PodAffinityTerms {
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];
}

export const NO_TERMS: PodAffinityTerms = { requiredAffinity: [], requiredAntiAffinity: [], preferredAffinity: [], preferredAntiAffinity: [] };

/** The pod's terms; a term whose selector does not parse selects nothing (the apiserver validated them). */
export function compileAffinityTerms(pod: Readonly<Pod>): PodAffinityTerms {
  const a = pod.spec?.affinity;
  if (!a?.podAffinity && !a?.podAntiAffinity) return NO_TERMS;
  const ns = pod.metadata.namespace ?? "default";
  const required = (terms: readonly PodAffinityTerm[] | undefined): AffinityTerm[] => (terms ?? []).flatMap((t) => compileTerm(t, ns, 1));
  const preferred = (terms: readonly WeightedPodAffinityTerm[] | undefined): AffinityTerm[] =>
    (terms ?? []).filter((t) => t.weight !== 0).flatMap((t) => compileTerm(t.podAffinityTerm, ns, t.weight));
  return {
    requiredAffinity: required(a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAntiAffinity: required(a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferredAffinity: preferred(a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: preferred(a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
}

function compileTerm(term: Readonly<PodAffinityTerm>, podNamespace: string, weight: number): AffinityTerm[] {
  let selector: Selector;
  let namespaceSelector: Selector | undefined;
  try {
    // A nil labelSelector selects no pods (LabelSelectorAsSelector(nil) is Nothing).
    if (term.labelSelector === undefined) return [];
    selector = selectorFromLabelSelector(term.labelSelector);
    namespaceSelector = term.namespaceSelector === undefined ? undefined : selectorFromLabelSelector(term.namespaceSelector);
  } catch {
    return [];
  }
  const names = term.namespaces ?? [];
  const namespaces = new Set(names.length === 0 && namespaceSelector === undefined ? [podNamespace] : names);
  return [{ topologyKey: term.topologyKey, selector, namespaces, namespaceSelector, weight }];
}

/** Whether the term selects `pod`: its namespace is one of the term's (or matches namespaceSelector) and labels match. */
export function termMatches(term: AffinityTerm, pod: Readonly<Pod>, nsLabels: NamespaceLabels): boolean {
  const ns = pod.metadata.namespace ?? "default";
  if (!term.namespaces.has(ns)) {
    if (term.namespaceSelector === undefined) return false;
    if (!term.namespaceSelector.empty && !term.namespaceSelector.matches(nsLabels(ns) ?? {})) return false;
  }
  return term.selector.matches(pod.metadata.labels);
}

export function hasAnyTerm(t: PodAffinityTerms): boolean {
  return t.requiredAffinity.length + t.requiredAntiAffinity.length + t.preferredAffinity.length + t.preferredAntiAffinity.length > 0;
}
