import { describe, expect, it } from "vitest";
import { GROUP_VERSIONS, RESOURCES } from "../../api/resources.js";
import { openApiDocument, openApiHeaders, openApiIndex } from "./openapi.js";

interface Operation {
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string };
  "x-kubernetes-action"?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, unknown> };
}

function gvKey(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function pathsOf(key: string): Record<string, Record<string, Operation>> {
  return openApiDocument(key)!.document.paths as Record<string, Record<string, Operation>>;
}

/** What kubectl's fieldValidation check does (cli-runtime query_param_verifier_v3): find the PATCH op for the GVK. */
function findPatchOperation(key: string, gvk: { group: string; version: string; kind: string }): Operation | undefined {
  for (const path of Object.values(pathsOf(key))) {
    const op = path.patch;
    const ext = op?.["x-kubernetes-group-version-kind"];
    if (ext?.group === gvk.group && ext.version === gvk.version && ext.kind === gvk.kind) return op;
  }
  return undefined;
}

describe("openApiIndex", () => {
  it("lists every served group version under api/<v> and apis/<g>/<v> with a hashed URL", () => {
    const index = openApiIndex();
    expect(Object.keys(index.paths)).toEqual(GROUP_VERSIONS.map((gv) => gvKey(gv.group, gv.version)));
    for (const [key, entry] of Object.entries(index.paths)) {
      expect(entry.serverRelativeURL).toBe(`/openapi/v3/${key}?hash=${openApiDocument(key)!.hash}`);
    }
    expect(index.paths["api/v1"]).toBeDefined();
    expect(index.paths["apis/apps/v1"]).toBeDefined();
  });
});

describe("openApiDocument", () => {
  it("is an OpenAPI 3.0 document for the group version", () => {
    const doc = openApiDocument("apis/apps/v1")!.document;
    expect(doc.openapi).toBe("3.0.0");
    expect(doc.info).toEqual({ title: "Kubernetes", version: "v1.32.0" });
  });

  it("accepts the request path forms", () => {
    const doc = openApiDocument("apis/apps/v1");
    expect(openApiDocument("/openapi/v3/apis/apps/v1")).toBe(doc);
    expect(openApiDocument("/apis/apps/v1/")).toBe(doc);
    expect(openApiDocument("apis/nosuch.example.com/v1")).toBeUndefined();
    expect(openApiDocument("apis/apps")).toBeUndefined();
  });

  it.each(RESOURCES.filter((r) => r.verbs.includes("patch")).map((r) => [`${r.group || "core"}/${r.version} ${r.kind}`, r] as const))(
    "has the PATCH operation kubectl's fieldValidation check needs for %s",
    (_, r) => {
      const op = findPatchOperation(gvKey(r.group, r.version), { group: r.group, version: r.version, kind: r.kind });
      expect(op).toBeDefined();
      expect(op!["x-kubernetes-action"]).toBe("patch");
      expect(op!.parameters).toContainEqual(expect.objectContaining({ name: "fieldValidation", in: "query" }));
      expect(Object.keys(op!.requestBody?.content ?? {}).sort()).toEqual([
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
      ]);
    },
  );

  it("puts the Deployment PATCH at its item path, as the contract's working stub does", () => {
    const item = pathsOf("apis/apps/v1")["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!;
    expect(item.patch!["x-kubernetes-group-version-kind"]).toEqual({ group: "apps", version: "v1", kind: "Deployment" });
    expect(Object.keys(item).sort()).toEqual(["delete", "get", "parameters", "patch", "put"]);
  });

  it("uses group \"\" for core kinds and cluster paths for cluster-scoped ones", () => {
    const paths = pathsOf("api/v1");
    expect(paths["/api/v1/namespaces/{name}"]!.patch!["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Namespace" });
    expect(paths["/api/v1/namespaces/{namespace}/pods"]!.post!["x-kubernetes-action"]).toBe("post");
    expect(paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]!.get!["x-kubernetes-action"]).toBe("connect");
  });

  it("tags the scale subresource with autoscaling/v1 Scale", () => {
    const scale = pathsOf("apis/apps/v1")["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]!;
    expect(scale.patch!["x-kubernetes-group-version-kind"]).toEqual({ group: "autoscaling", version: "v1", kind: "Scale" });
  });

  it("keeps x-kubernetes-group-version-kind off component schemas so kubectl computes patches from its built-in types", () => {
    const schemas = openApiDocument("apis/apps/v1")!.document.components as { schemas: Record<string, Record<string, unknown>> };
    expect(schemas.schemas["io.k8s.api.apps.v1.Deployment"]).toBeDefined();
    for (const schema of Object.values(schemas.schemas)) expect(schema["x-kubernetes-group-version-kind"]).toBeUndefined();
  });

  it("resolves every $ref inside the document", () => {
    for (const gv of GROUP_VERSIONS) {
      const doc = openApiDocument(gvKey(gv.group, gv.version))!;
      const schemas = (doc.document.components as { schemas: Record<string, unknown> }).schemas;
      for (const m of doc.body.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(schemas[m[1]!], m[1]).toBeDefined();
    }
  });

  it("has a stable hash of its body and a matching ETag", () => {
    const doc = openApiDocument("api/v1")!;
    expect(doc.body).toBe(JSON.stringify(doc.document));
    expect(doc.hash).toMatch(/^[0-9A-F]{128}$/);
    expect(doc.etag).toBe(`"${doc.hash}"`);
    expect(openApiDocument("apis/apps/v1")!.hash).not.toBe(doc.hash);
  });
});

describe("openApiHeaders", () => {
  it("lets a URL with the current hash be cached forever and makes others revalidate", () => {
    const doc = openApiDocument("api/v1")!;
    expect(openApiHeaders(doc, doc.hash)).toEqual({ "Content-Type": "application/json", ETag: doc.etag, "Cache-Control": "public, immutable" });
    expect(openApiHeaders(doc, "STALE")["Cache-Control"]).toBe("no-cache, private");
    expect(openApiHeaders(doc, undefined)["Cache-Control"]).toBe("no-cache, private");
  });
});
