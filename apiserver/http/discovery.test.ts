import { describe, expect, it } from "vitest";
import { GROUP_VERSIONS, RESOURCES } from "../../api/resources.js";
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiResourceList,
  legacyApiGroupList,
  legacyApiVersions,
  versionInfo,
  wantsAggregated,
} from "./discovery.js";
import { parseMediaType } from "./negotiate.js";

/** The Accept header kubectl sends to /api and /apis. */
const KUBECTL_DISCOVERY_ACCEPT =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

describe("aggregatedDiscovery", () => {
  it("lists only the core group under /api, with no group name", () => {
    const doc = aggregatedDiscovery("api");
    expect(doc.kind).toBe("APIGroupDiscoveryList");
    expect(doc.apiVersion).toBe("apidiscovery.k8s.io/v2");
    expect(doc.metadata).toEqual({});
    expect(doc.items).toHaveLength(1);
    expect(doc.items[0]!.metadata).toEqual({});
    expect(doc.items[0]!.versions.map((v) => v.version)).toEqual(["v1"]);
  });

  it("lists every named group under /apis in GROUP_VERSIONS order", () => {
    const names = aggregatedDiscovery("apis").items.map((g) => g.metadata.name);
    const expected = [...new Set(GROUP_VERSIONS.filter((gv) => gv.group !== "").map((gv) => gv.group))];
    expect(names).toEqual(expected);
  });

  it("describes deployments exactly as the contract's example", () => {
    const apps = aggregatedDiscovery("apis").items.find((g) => g.metadata.name === "apps")!;
    const v1 = apps.versions[0]!;
    expect(v1.version).toBe("v1");
    expect(v1.freshness).toBe("Current");
    const deployments = v1.resources.find((r) => r.resource === "deployments");
    expect(deployments).toEqual({
      resource: "deployments",
      responseKind: { group: "apps", version: "v1", kind: "Deployment" },
      scope: "Namespaced",
      singularResource: "deployment",
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      shortNames: ["deploy"],
      categories: ["all"],
      subresources: [
        { subresource: "scale", responseKind: { group: "autoscaling", version: "v1", kind: "Scale" }, verbs: ["get", "patch", "update"] },
        { subresource: "status", responseKind: { group: "apps", version: "v1", kind: "Deployment" }, verbs: ["get", "patch", "update"] },
      ],
    });
  });

  it("gives every resource and subresource a responseKind, since client-go drops entries without one", () => {
    const all = [...aggregatedDiscovery("api").items, ...aggregatedDiscovery("apis").items];
    const resources = all.flatMap((g) => g.versions.flatMap((v) => v.resources));
    expect(resources).toHaveLength(RESOURCES.length);
    for (const r of resources) {
      expect(r.responseKind.kind).not.toBe("");
      for (const s of r.subresources ?? []) expect(s.responseKind.kind).not.toBe("");
    }
  });

  it("marks cluster-scoped resources and the pod subresources kubectl uses", () => {
    const core = aggregatedDiscovery("api").items[0]!.versions[0]!.resources;
    expect(core.find((r) => r.resource === "namespaces")?.scope).toBe("Cluster");
    expect(core.find((r) => r.resource === "nodes")?.shortNames).toEqual(["no"]);
    const pods = core.find((r) => r.resource === "pods")!;
    expect(pods.categories).toEqual(["all"]);
    expect(pods.subresources?.map((s) => s.subresource)).toEqual(expect.arrayContaining(["log", "exec", "eviction", "status"]));
    expect(pods.subresources?.find((s) => s.subresource === "eviction")?.responseKind).toEqual({ group: "policy", version: "v1", kind: "Eviction" });
  });

  it("omits empty shortNames, categories and subresources", () => {
    const core = aggregatedDiscovery("api").items[0]!.versions[0]!.resources;
    const secrets = core.find((r) => r.resource === "secrets")!;
    expect(Object.keys(secrets)).toEqual(["resource", "responseKind", "scope", "singularResource", "verbs"]);
  });
});

describe("AGGREGATED_DISCOVERY_CONTENT_TYPE", () => {
  it("carries the params client-go checks to treat a reply as aggregated", () => {
    const mt = parseMediaType(AGGREGATED_DISCOVERY_CONTENT_TYPE)!;
    expect(`${mt.type}/${mt.subtype}`).toBe("application/json");
    expect(mt.params).toEqual({ g: "apidiscovery.k8s.io", v: "v2", as: "APIGroupDiscoveryList" });
  });
});

describe("wantsAggregated", () => {
  it.each([
    [KUBECTL_DISCOVERY_ACCEPT, true],
    ["application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io", true],
    ["application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList; charset=utf-8", true],
    ["application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", false],
    ["application/json", false],
    ["application/json, */*", false],
    ["application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", false],
    ["application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", true],
    [undefined, false],
  ])("Accept %j → %s", (accept, expected) => {
    expect(wantsAggregated(accept)).toBe(expected);
  });
});

describe("legacy discovery", () => {
  it("answers /api with APIVersions and the server address", () => {
    expect(legacyApiVersions("127.0.0.1:6443")).toEqual({
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:6443" }],
    });
  });

  it("answers /apis with every named group and its preferred version", () => {
    const list = legacyApiGroupList();
    expect(list.kind).toBe("APIGroupList");
    expect(list.apiVersion).toBe("v1");
    expect(list.groups.find((g) => g.name === "apps")).toEqual({
      name: "apps",
      versions: [{ groupVersion: "apps/v1", version: "v1" }],
      preferredVersion: { groupVersion: "apps/v1", version: "v1" },
    });
    expect(list.groups.some((g) => g.name === "")).toBe(false);
  });

  it("answers /apis/<group> with an APIGroup, and nothing for unknown groups", () => {
    expect(apiGroup("coordination.k8s.io")).toEqual({
      kind: "APIGroup",
      apiVersion: "v1",
      name: "coordination.k8s.io",
      versions: [{ groupVersion: "coordination.k8s.io/v1", version: "v1" }],
      preferredVersion: { groupVersion: "coordination.k8s.io/v1", version: "v1" },
    });
    expect(apiGroup("nosuch.example.com")).toBeUndefined();
    expect(apiGroup("")).toBeUndefined();
  });

  it("lists apps/v1 resources with parent/sub entries and the scale kind's group version", () => {
    const list = apiResourceList("apps", "v1")!;
    expect(list.kind).toBe("APIResourceList");
    expect(list.groupVersion).toBe("apps/v1");
    expect(list.resources.find((r) => r.name === "deployments")).toEqual({
      name: "deployments",
      singularName: "deployment",
      namespaced: true,
      kind: "Deployment",
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
      shortNames: ["deploy"],
      categories: ["all"],
    });
    expect(list.resources.find((r) => r.name === "deployments/scale")).toEqual({
      name: "deployments/scale",
      singularName: "",
      namespaced: true,
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
      verbs: ["get", "patch", "update"],
    });
    expect(list.resources.find((r) => r.name === "deployments/status")).toEqual({
      name: "deployments/status",
      singularName: "",
      namespaced: true,
      kind: "Deployment",
      verbs: ["get", "patch", "update"],
    });
  });

  it("lists core/v1 with pods/log and pods/exec", () => {
    const list = apiResourceList("", "v1")!;
    expect(list.groupVersion).toBe("v1");
    expect(list.resources.find((r) => r.name === "pods/exec")?.kind).toBe("PodExecOptions");
    expect(list.resources.find((r) => r.name === "pods/log")?.verbs).toEqual(["get"]);
    expect(list.resources.find((r) => r.name === "namespaces")?.namespaced).toBe(false);
  });

  it("returns nothing for a group version it does not serve", () => {
    expect(apiResourceList("apps", "v1beta1")).toBeUndefined();
    expect(apiResourceList("batch", "v1beta1")).toBeUndefined();
  });
});

describe("versionInfo", () => {
  // k8s.io/apimachinery/pkg/util/version ParseSemantic: an optional "v", then SemVer 2.0 with pre-release and build.
  const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

  it("reports 1.32 with a semver gitVersion kubectl's skew check accepts", () => {
    const v = versionInfo();
    expect(v.major).toBe("1");
    expect(v.minor).toBe("32");
    expect(v.gitVersion).toMatch(SEMVER);
    expect(v.gitVersion.startsWith("v1.32.0")).toBe(true);
  });

  it("has every field kubectl version prints", () => {
    const v = versionInfo({ gitCommit: "abc", buildDate: "2025-01-01T00:00:00Z" });
    const { platform, ...rest } = v;
    expect(rest).toEqual({
      major: "1",
      minor: "32",
      gitVersion: "v1.32.0+kubelab",
      gitCommit: "abc",
      gitTreeState: "clean",
      buildDate: "2025-01-01T00:00:00Z",
      goVersion: `node${process.version}`,
      compiler: "tsc",
    });
    expect(platform).toMatch(/^[a-z0-9]+\/[a-z0-9]+$/);
    expect(versionInfo().buildDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
