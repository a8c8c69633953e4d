import { describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { setOpenApiSchemaProvider } from "./openapi-schemas.js";
import { encodeOpenApiV2, openApiV2, openApiV2DocumentType, wantsOpenApiV2Protobuf } from "./openapi-v2.js";

type Json = Record<string, unknown>;

/** gnostic's Schema message back to JSON schema: the inverse of the encoder, written independently of it. */
function schemaJson(message: Json): Json {
  const out: Json = {};
  // (arrays: true gives absent repeated fields as [], which the JSON form leaves out.)
  if (typeof message._ref === "string" && message._ref !== "") out.$ref = message._ref;
  for (const key of ["format", "title", "description"]) if (typeof message[key] === "string" && message[key] !== "") out[key] = message[key];
  const type = message.type as { value?: string[] } | undefined;
  if (type?.value?.length) out.type = type.value.length === 1 ? type.value[0] : type.value;
  const items = message.items as { schema?: Json[] } | undefined;
  if (items?.schema?.length) out.items = items.schema.length === 1 ? schemaJson(items.schema[0]!) : items.schema.map(schemaJson);
  const additional = message.additional_properties as { schema?: Json; boolean?: boolean } | undefined;
  if (additional?.schema !== undefined) out.additionalProperties = schemaJson(additional.schema);
  else if (additional?.boolean !== undefined) out.additionalProperties = additional.boolean;
  const properties = message.properties as { additional_properties?: { name: string; value: Json }[] } | undefined;
  if (properties !== undefined) out.properties = Object.fromEntries((properties.additional_properties ?? []).map((p) => [p.name, schemaJson(p.value)]));
  if (Array.isArray(message.required) && message.required.length > 0) out.required = message.required;
  if (Array.isArray(message.enum) && message.enum.length > 0) out.enum = (message.enum as { yaml: string }[]).map((a) => JSON.parse(a.yaml) as unknown);
  if (Array.isArray(message.all_of) && message.all_of.length > 0) out.allOf = (message.all_of as Json[]).map(schemaJson);
  for (const ext of (message.vendor_extension ?? []) as { name: string; value: { yaml: string } }[]) out[ext.name] = JSON.parse(ext.value.yaml) as unknown;
  return out;
}

function decode(body: Uint8Array): Json {
  const type = openApiV2DocumentType();
  return type.toObject(type.decode(body), { defaults: false, arrays: true, oneofs: false });
}

describe("openApiV2", () => {
  const v2 = openApiV2();
  const definitions = v2.document.definitions as Record<string, Json>;

  it("is a Swagger 2.0 document whose definitions carry every served kind's GVK", () => {
    expect(v2.document.swagger).toBe("2.0");
    for (const r of RESOURCES) {
      const tagged = Object.values(definitions).filter((d) =>
        (d["x-kubernetes-group-version-kind"] as { group: string; version: string; kind: string }[] | undefined)
          ?.some((t) => t.group === r.group && t.version === r.version && t.kind === r.kind));
      expect(tagged, `${r.group}/${r.version} ${r.kind}`).toHaveLength(1);
    }
  });

  it("resolves every $ref to a definition and uses no allOf (kubectl's v2 reader knows none)", () => {
    const body = v2.json.body.toString();
    const refs = [...body.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(100);
    for (const ref of refs) {
      expect(ref.startsWith("#/definitions/"), ref).toBe(true);
      expect(definitions[ref.slice("#/definitions/".length)], ref).toBeDefined();
    }
    // allOf as a keyword (a list of schemas), not JSONSchemaProps' property of that name.
    expect(body).not.toContain('"allOf":[');
  });

  it("describes a referenced field beside the $ref", () => {
    const field = (definitions["io.k8s.api.rbac.v1.ClusterRole"]!.properties as Record<string, Json>).aggregationRule!;
    expect(field.$ref).toBe("#/definitions/io.k8s.api.rbac.v1.AggregationRule");
    expect(field.description).toEqual(expect.any(String));
  });

  it("round-trips through gnostic's Document message", () => {
    const decoded = decode(v2.protobuf.body);
    expect(decoded.swagger).toBe("2.0");
    expect(decoded.info).toMatchObject({ title: "Kubernetes", version: "v1.32.0" });
    const named = (decoded.definitions as { additional_properties: { name: string; value: Json }[] }).additional_properties;
    expect(named.map((n) => n.name)).toEqual(Object.keys(definitions));
    for (const { name, value } of named) expect(schemaJson(value), name).toEqual(definitions[name]);
  });

  it("encodes boolean additionalProperties, defaults as YAML and vendor extensions", () => {
    const body = encodeOpenApiV2({ swagger: "2.0", info: { title: "t", version: "v" }, definitions: {
      a: { type: "object", additionalProperties: false, "x-kubernetes-list-map-keys": ["name"] },
    } });
    const a = (decode(body).definitions as { additional_properties: { value: Json }[] }).additional_properties[0]!.value;
    expect(a.additional_properties).toEqual({ boolean: false });
    expect(a.vendor_extension).toEqual([{ name: "x-kubernetes-list-map-keys", value: { yaml: '["name"]\n' } }]);
  });

  it("has a strong ETag per form that changes with the body", () => {
    expect(v2.json.etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect(v2.protobuf.etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect(v2.json.etag).not.toBe(v2.protobuf.etag);
    expect(openApiV2()).toBe(v2);
  });
});

describe("wantsOpenApiV2Protobuf", () => {
  it.each([
    ["application/com.github.proto-openapi.spec.v2@v1.0+protobuf", true],
    ["application/com.github.proto-openapi.spec.v2.v1.0+protobuf; q=0.9, application/json", true],
    ["application/json", false],
    ["*/*", false],
    [undefined, false],
  ])("%s → %s", (accept, expected) => {
    expect(wantsOpenApiV2Protobuf(accept)).toBe(expected);
  });
});

describe("CRD definitions in /openapi/v2", () => {
  const gvk = (kind: string): { group: string; version: string; kind: string } => ({ group: "ex.com", version: "v1", kind });
  const mix: Json = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: {
          free: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { x: { type: "string" } } },
          arr: { type: "array", "x-kubernetes-preserve-unknown-fields": true, items: { type: "string" } },
          n: { type: "string", nullable: true },
          ios: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
          one: { type: "string", anyOf: [{ maxLength: 3 }, { minLength: 5 }] },
          emb: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "string" } } },
          embfree: { type: "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true },
          req: { type: "object", required: ["a", "b"], properties: { a: { type: "string", nullable: true }, b: { type: "string", default: "x" } } },
        },
      },
    },
  };
  const preservingRoot: Json = { description: "keeps everything", type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { spec: { type: "object" } } };

  const definitionsWith = (schemas: { gvk: ReturnType<typeof gvk>; schema: Json }[]): Record<string, Json> => {
    setOpenApiSchemaProvider({ generation: () => 1000 + schemas.length, schemas: () => schemas });
    try {
      return openApiV2().document.definitions as Record<string, Json>;
    } finally {
      setOpenApiSchemaProvider(undefined);
    }
  };

  it("publishes a schema keeping unknown fields at its root (or a CRD 'without schema') as a bare object, as Kubernetes", () => {
    const definitions = definitionsWith([{ gvk: gvk("Root"), schema: preservingRoot }, { gvk: gvk("Empty"), schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } }]);
    for (const kind of ["Root", "Empty"]) {
      expect(definitions[`com.ex.v1.${kind}`]).toEqual({ type: "object", "x-kubernetes-group-version-kind": [gvk(kind)] });
    }
  });

  it("filters a schema for kubectl as the real apiserver does (compared with kube-apiserver v1.26.1's answer for the same CRD)", () => {
    const mixed = definitionsWith([{ gvk: gvk("Mix"), schema: mix }])["com.ex.v1.Mix"]!;
    const properties = mixed.properties as Record<string, Json>;
    expect(Object.keys(properties).sort()).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(properties.metadata).toMatchObject({ $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" });
    expect(mixed["x-kubernetes-group-version-kind"]).toEqual([gvk("Mix")]);
    const spec = properties.spec!.properties as Record<string, Json>;
    expect(spec.free).toEqual({ "x-kubernetes-preserve-unknown-fields": true });
    expect(spec.arr).toEqual({ "x-kubernetes-preserve-unknown-fields": true });
    expect(spec.n).toEqual({});
    expect(spec.ios).toEqual({ "x-kubernetes-int-or-string": true });
    expect(spec.one).toEqual({ type: "string" });
    expect(spec.embfree).toEqual({ "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true });
    expect(spec.req).toEqual({ type: "object", required: ["b"], properties: { a: {}, b: { type: "string" } } });
    expect(spec.emb).toMatchObject({ type: "object", required: ["kind", "apiVersion"], "x-kubernetes-embedded-resource": true });
    expect(Object.keys(spec.emb!.properties as Json).sort()).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    // The source schema is left as it was (the v3 documents publish it unfiltered).
    expect((mix.properties as { spec: { properties: { n: Json } } }).spec.properties.n).toEqual({ type: "string", nullable: true });
  });
});
