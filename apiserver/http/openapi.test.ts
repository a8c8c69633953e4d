import { afterEach, describe, expect, it } from "vitest";
import { GROUP_VERSIONS, RESOURCES } from "../../api/resources.js";
import { WIRE_MODELS } from "../../api/wire-types.gen.js";
import { openApiDocument, openApiHeaders, openApiIndex } from "./openapi.js";
import { buildBuiltinSchemas, setOpenApiSchemaProvider, type ExtraSchema } from "./openapi-schemas.js";
import { openApiV2 } from "./openapi-v2.js";

interface Operation {
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string };
  "x-kubernetes-action"?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, unknown> };
}

function gvKey(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

interface GvkTag {
  group: string;
  version: string;
  kind: string;
}

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; required?: string[] };

function schemasOf(key: string): Record<string, Schema> {
  return (openApiDocument(key)!.document.components as { schemas: Record<string, Schema> }).schemas;
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

  it("tags each served kind's and list kind's top-level schema with its GVK, as kubectl explain and apply look them up", () => {
    for (const r of RESOURCES) {
      const schemas = schemasOf(gvKey(r.group, r.version));
      for (const kind of [r.kind, r.listKind]) {
        const tagged = Object.values(schemas).filter((s) =>
          (s["x-kubernetes-group-version-kind"] as GvkTag[] | undefined)?.some((t) => t.group === r.group && t.version === r.version && t.kind === kind));
        expect(tagged, `${r.group}/${r.version} ${kind}`).toHaveLength(1);
      }
    }
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

describe("schemas", () => {
  const core = schemasOf("api/v1");
  const container = core["io.k8s.api.core.v1.Container"]!;

  it("type every field with Kubernetes' formats", () => {
    expect(core["io.k8s.api.core.v1.ContainerPort"]!.properties!.containerPort).toEqual({ type: "integer", format: "int32" });
    expect(core["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]!.properties!.creationTimestamp).toMatchObject({ type: "string", format: "date-time" });
    expect(core["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]!.properties!.generation).toEqual({ type: "integer", format: "int64" });
    expect(core["io.k8s.api.core.v1.ServicePort"]!.properties!.targetPort).toMatchObject({ type: "string", format: "int-or-string", "x-kubernetes-int-or-string": true });
    expect(core["io.k8s.api.core.v1.ResourceRequirements"]!.properties!.limits).toEqual({ type: "object", additionalProperties: { type: "string", format: "quantity" } });
    expect(container.properties!.args).toEqual({ type: "array", items: { type: "string" } });
    expect(container.properties!.resources).toEqual({ $ref: "#/components/schemas/io.k8s.api.core.v1.ResourceRequirements" });
  });

  it("carry the server's strategic merge list strategies", () => {
    const podSpec = core["io.k8s.api.core.v1.PodSpec"]!.properties!;
    expect(podSpec.containers).toMatchObject({
      type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
    });
    expect(container.properties!.ports).toMatchObject({ "x-kubernetes-patch-merge-key": "containerPort" });
    expect(container.properties!.volumeMounts).toMatchObject({ "x-kubernetes-patch-merge-key": "mountPath" });
    // Replaced whole: no strategy.
    expect(container.properties!.args!["x-kubernetes-patch-strategy"]).toBeUndefined();
    expect(podSpec.tolerations!["x-kubernetes-patch-strategy"]).toBeUndefined();
    expect(core["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]!.properties!.finalizers).toMatchObject({ "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set" });
    expect(core["io.k8s.api.core.v1.ServiceSpec"]!.properties!.ports).toMatchObject({ "x-kubernetes-patch-merge-key": "port" });
  });

  it("give every list the same strategy on every path that reaches it", () => {
    expect(buildBuiltinSchemas("#/x/").conflicts).toEqual([]);
  });

  it("describe a documented reference in allOf, whose siblings OpenAPI v3 does not ignore", () => {
    const field = schemasOf("apis/rbac.authorization.k8s.io/v1")["io.k8s.api.rbac.v1.ClusterRole"]!.properties!.aggregationRule!;
    expect(field).toEqual({ allOf: [{ $ref: "#/components/schemas/io.k8s.api.rbac.v1.AggregationRule" }], description: expect.any(String) as unknown });
  });

  it("take required fields, allowed values and descriptions from the project's own types", () => {
    expect(container.required).toEqual(["name"]);
    expect(core["io.k8s.api.core.v1.PodSpec"]!.required).toEqual(["containers"]);
    expect(core["io.k8s.api.core.v1.ContainerPort"]!.properties!.protocol!.enum).toEqual(["TCP", "UDP", "SCTP"]);
    expect(core["io.k8s.api.core.v1.Volume"]!.description).toBe("A pod volume: a name plus exactly one source.");
    expect(container.properties!.restartPolicy!.description).toBe('Only on init containers: "Always" makes it a sidecar that keeps running.');
  });

  it("are the same wire models the apiserver checks bodies with", () => {
    expect(Object.keys(container.properties!).sort()).toEqual(Object.keys(WIRE_MODELS.V1Container!).sort());
    const job = schemasOf("apis/batch/v1")["io.k8s.api.batch.v1.Job"]!;
    expect(Object.keys(job.properties!).sort()).toEqual(Object.keys(WIRE_MODELS.V1Job!).sort());
  });
});

describe("extra schemas (CRDs)", () => {
  const gvk = { group: "stable.example.com", version: "v1", kind: "CronTab" };
  let generation = 1;
  const widgets: ExtraSchema[] = [{
    gvk,
    schema: { type: "object", properties: { spec: { type: "object", properties: { cronSpec: { type: "string" } } } } },
    resource: { plural: "crontabs", namespaced: true },
  }];
  afterEach(() => {
    setOpenApiSchemaProvider(undefined);
  });

  it("appear in the index, in their group version's document and in v2, and follow the provider's generation", () => {
    const before = openApiV2().json.etag;
    setOpenApiSchemaProvider({ generation: () => generation, schemas: () => widgets });
    expect(openApiIndex().paths["apis/stable.example.com/v1"]).toBeDefined();
    const doc = openApiDocument("apis/stable.example.com/v1")!;
    const schemas = (doc.document.components as { schemas: Record<string, Schema> }).schemas;
    expect(schemas["com.example.stable.v1.CronTab"]!["x-kubernetes-group-version-kind"]).toEqual([gvk]);
    expect(schemas["com.example.stable.v1.CronTabList"]).toBeDefined();
    expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]).toBeDefined();
    expect(findPatchOperation("apis/stable.example.com/v1", gvk)!.parameters).toContainEqual(expect.objectContaining({ name: "fieldValidation" }));
    const v2 = openApiV2();
    expect((v2.document.definitions as Record<string, unknown>)["com.example.stable.v1.CronTab"]).toBeDefined();
    expect(v2.json.etag).not.toBe(before);
    // Same generation: the same documents; a new generation: rebuilt.
    expect(openApiDocument("apis/stable.example.com/v1")).toBe(doc);
    generation = 2;
    widgets.pop();
    expect(openApiDocument("apis/stable.example.com/v1")).toBeUndefined();
    setOpenApiSchemaProvider(undefined);
    expect(openApiV2().json.etag).toBe(before);
  });
});
