import { describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
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
