// API discovery documents, all derived from api/resources.ts: aggregated discovery (apidiscovery.k8s.io/v2) for
// `/api` and `/apis`, the legacy documents (APIVersions, APIGroupList, APIGroup, APIResourceList) for clients that
// do not ask for aggregated discovery, and /version.
//
// kubectl learns everything about resources from these: kinds for `-f` files, scope, verbs, short names and the
// `all` category (there is no built-in fallback), and the scale subresource's kind. Its client picks
// the format from the response Content-Type only, so aggregated replies must carry AGGREGATED_DISCOVERY_CONTENT_TYPE.
import { GROUP_VERSIONS, RESOURCES, apiVersionOf } from "../../api/resources.js";
import type { GroupVersionKind, ResourceInfo, SubresourceInfo } from "../../api/resources.js";
import { formatTime } from "../../api/time.js";
import { parseAccept } from "./negotiate.js";

/** The Content-Type that makes client-go treat a discovery reply as aggregated (param order is free). */
export const AGGREGATED_DISCOVERY_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

// ---- aggregated discovery (apidiscovery.k8s.io/v2) ----

export interface DiscoveryGroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface APISubresourceDiscovery {
  subresource: string;
  responseKind: DiscoveryGroupVersionKind;
  verbs: string[];
}

export interface APIResourceDiscovery {
  resource: string;
  responseKind: DiscoveryGroupVersionKind;
  scope: "Cluster" | "Namespaced";
  singularResource: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: APISubresourceDiscovery[];
}

export interface APIVersionDiscovery {
  version: string;
  resources: APIResourceDiscovery[];
  freshness: "Current" | "Stale";
}

export interface APIGroupDiscovery {
  metadata: { name?: string };
  versions: APIVersionDiscovery[];
}

export interface APIGroupDiscoveryList {
  kind: "APIGroupDiscoveryList";
  apiVersion: "apidiscovery.k8s.io/v2";
  metadata: Record<string, never>;
  items: APIGroupDiscovery[];
}

/**
 * The aggregated discovery document for `/api` (scope "api": the core group only) or `/apis` (every named group).
 * Groups and versions keep GROUP_VERSIONS order; the first version of a group is its preferred one. Every resource
 * and subresource carries a responseKind, because client-go drops entries without one.
 */
export function aggregatedDiscovery(scope: "api" | "apis", aggregated: readonly APIGroupDiscovery[] = []): APIGroupDiscoveryList {
  const items: APIGroupDiscovery[] = [];
  for (const group of groupNames()) {
    if ((scope === "api") !== (group === "")) continue;
    const versions = GROUP_VERSIONS.filter((gv) => gv.group === group).map(
      (gv): APIVersionDiscovery => ({
        version: gv.version,
        resources: resourcesOf(gv.group, gv.version).map(resourceDiscovery),
        freshness: "Current",
      }),
    );
    // The core group's name is empty, which Kubernetes omits from the JSON.
    items.push({ metadata: group === "" ? {} : { name: group }, versions });
  }
  if (scope === "apis") items.push(...aggregated);
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

/** One resource's aggregated discovery entry (also used for the resources CRDs define). */
export function resourceDiscovery(info: ResourceInfo): APIResourceDiscovery {
  const entry: APIResourceDiscovery = {
    resource: info.resource,
    responseKind: { group: info.group, version: info.version, kind: info.kind },
    scope: info.namespaced ? "Namespaced" : "Cluster",
    singularResource: info.singular,
    verbs: [...info.verbs],
  };
  if (info.shortNames.length > 0) entry.shortNames = [...info.shortNames];
  if (info.categories.length > 0) entry.categories = [...info.categories];
  if (info.subresources.length > 0) {
    entry.subresources = info.subresources.map((sub) => ({
      subresource: sub.name,
      responseKind: { ...subresourceKind(info, sub) },
      verbs: [...sub.verbs],
    }));
  }
  return entry;
}

/** A subresource's kind; connect-style ones without a declared kind fall back to the parent's, so none is dropped. */
function subresourceKind(parent: ResourceInfo, sub: SubresourceInfo): GroupVersionKind {
  return sub.responseKind ?? { group: parent.group, version: parent.version, kind: parent.kind };
}

/**
 * Whether a discovery request's Accept header prefers aggregated discovery v2: the first acceptable offer (by q, then
 * order) is `application/json` with g=apidiscovery.k8s.io, v=v2 and as=APIGroupDiscoveryList in any order. Offers of
 * v2beta1, which kubelab does not serve, are skipped; a plain JSON or wildcard offer first means legacy discovery.
 */
export function wantsAggregated(acceptHeader: string | undefined): boolean {
  for (const offer of parseAccept(acceptHeader)) {
    const isJson = offer.type === "application" && offer.subtype === "json";
    const isWildcard = (offer.type === "*" || offer.type === "application") && offer.subtype === "*";
    if (isJson && offer.params.as === "APIGroupDiscoveryList") {
      if (offer.params.g === "apidiscovery.k8s.io" && offer.params.v === "v2") return true;
      continue;
    }
    if (isJson && offer.params.as === undefined) return false;
    if (isWildcard) return false;
  }
  return false;
}

// ---- legacy discovery ----

export interface APIVersions {
  kind: "APIVersions";
  versions: string[];
  serverAddressByClientCIDRs: { clientCIDR: string; serverAddress: string }[];
}

export interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

export interface APIGroup {
  kind: "APIGroup";
  apiVersion: "v1";
  name: string;
  versions: GroupVersionForDiscovery[];
  preferredVersion: GroupVersionForDiscovery;
}

export interface APIGroupList {
  kind: "APIGroupList";
  apiVersion: "v1";
  groups: Omit<APIGroup, "kind" | "apiVersion">[];
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

export interface APIResourceList {
  kind: "APIResourceList";
  apiVersion: "v1";
  groupVersion: string;
  resources: APIResource[];
}

/** Legacy `GET /api`: the core versions and the address clients should use (`host:port`). */
export function legacyApiVersions(serverAddress: string): APIVersions {
  return {
    kind: "APIVersions",
    versions: GROUP_VERSIONS.filter((gv) => gv.group === "").map((gv) => gv.version),
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** Legacy `GET /apis`: every named group with its versions, preferred first; then the aggregated ones. */
export function legacyApiGroupList(aggregated: readonly APIGroup[] = []): APIGroupList {
  const groups = groupNames()
    .filter((g) => g !== "")
    .map((g) => {
      const doc = apiGroup(g)!;
      return { name: doc.name, versions: doc.versions, preferredVersion: doc.preferredVersion };
    });
  for (const doc of aggregated) groups.push({ name: doc.name, versions: doc.versions, preferredVersion: doc.preferredVersion });
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

/** `GET /apis/<group>`: one APIGroup, or undefined (→ 404) for a group kubelab does not serve. */
export function apiGroup(group: string): APIGroup | undefined {
  if (group === "") return undefined;
  const versions = GROUP_VERSIONS.filter((gv) => gv.group === group).map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }));
  const preferred = versions[0];
  if (preferred === undefined) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", name: group, versions, preferredVersion: preferred };
}

/**
 * `GET /api/v1` or `GET /apis/<group>/<version>`: the resources of one group version, each followed by its
 * subresources as `parent/sub` entries. A subresource whose kind lives in another group version (deployments/scale
 * → autoscaling/v1 Scale, pods/eviction → policy/v1 Eviction) names that group and version, as Kubernetes does.
 * Undefined (→ 404) for a group version kubelab does not serve.
 */
export function apiResourceList(group: string, version: string): APIResourceList | undefined {
  if (!GROUP_VERSIONS.some((gv) => gv.group === group && gv.version === version)) return undefined;
  return resourceListFor(group, version, resourcesOf(group, version));
}

/** The APIResourceList of `infos`, which belong to one group version (also used for the resources CRDs define). */
export function resourceListFor(group: string, version: string, infos: readonly ResourceInfo[]): APIResourceList {
  const resources: APIResource[] = [];
  for (const info of infos) {
    const entry: APIResource = {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: [...info.verbs],
    };
    if (info.shortNames.length > 0) entry.shortNames = [...info.shortNames];
    if (info.categories.length > 0) entry.categories = [...info.categories];
    resources.push(entry);
    for (const sub of info.subresources) {
      const kind = subresourceKind(info, sub);
      const subEntry: APIResource = {
        name: `${info.resource}/${sub.name}`,
        singularName: "",
        namespaced: info.namespaced,
        kind: kind.kind,
        verbs: [...sub.verbs],
      };
      if (kind.group !== group || kind.version !== version) {
        subEntry.group = kind.group;
        subEntry.version = kind.version;
      }
      resources.push(subEntry);
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf({ group, version }), resources };
}

// ---- /version ----

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** The semver kubelab reports. Build metadata (`+kubelab`) keeps it valid semver and equal in precedence to v1.32.0. */
export const KUBELAB_GIT_VERSION = "v1.32.0+kubelab";

// Captured once at module load: the server's "build" is the process that serves it.
const BUILD_DATE = formatTime(Date.now());

/**
 * `GET /version`. `gitVersion` must parse as semver or `kubectl version` fails its skew check
 * (kubectl pkg/cmd/version/skew_warning.go uses version.ParseSemantic); the gcloud kubectl dispatcher picks its
 * kubectl binary from `minor`.
 */
export function versionInfo(opts: { gitCommit?: string; buildDate?: string } = {}): VersionInfo {
  return {
    major: "1",
    minor: "32",
    gitVersion: KUBELAB_GIT_VERSION,
    gitCommit: opts.gitCommit ?? "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: opts.buildDate ?? BUILD_DATE,
    goVersion: `node${process.version}`,
    compiler: "tsc",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

// ---- helpers ----

function groupNames(): string[] {
  const names: string[] = [];
  for (const gv of GROUP_VERSIONS) if (!names.includes(gv.group)) names.push(gv.group);
  return names;
}

function resourcesOf(group: string, version: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}
