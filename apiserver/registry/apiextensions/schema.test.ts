import { describe, expect, it } from "vitest";
import { applySchemaDefaults, pruneObject, schemaHasDefaults, validateStructural, validateValue, withSchemaDefaults, type JSONSchemaProps } from "./schema.js";

const SCHEMA: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["cronSpec"],
      properties: {
        cronSpec: { type: "string", pattern: "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
        image: { type: "string", default: "nginx", minLength: 1, maxLength: 20 },
        replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
        ratio: { type: "number", exclusiveMaximum: true, maximum: 1, multipleOf: 0.25 },
        mode: { type: "string", enum: ["Fast", "Slow"] },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", items: { type: "string" }, maxItems: 2, minItems: 1, uniqueItems: true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        template: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "object", properties: { a: { type: "string" } } } } },
        items: { type: "array", items: { type: "object", properties: { name: { type: "string" }, weight: { type: "integer", default: 5 } } } },
        maybe: { type: "string", nullable: true },
      },
    },
    status: { type: "object", properties: { replicas: { type: "integer" } } },
  },
};

function messages(value: unknown): string[] {
  return validateValue(SCHEMA, value).map((e) => `${e.field}: ${e.message}`);
}

describe("validateValue", () => {
  it("accepts a valid object, apiVersion, kind and metadata included", () => {
    expect(messages({ apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "a" }, spec: { cronSpec: "* * * * *", replicas: 3, port: "http", tags: ["a"], labels: { x: "y" }, maybe: null } })).toEqual([]);
  });

  it("reports Kubernetes' field errors", () => {
    expect(messages({ spec: { cronSpec: "nope", replicas: 15, image: "", mode: "Medium", tags: ["a", "a", "b"], ratio: 1 } })).toEqual([
      "spec.cronSpec: Invalid value: \"nope\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'",
      "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10",
      'spec.image: Invalid value: "": spec.image in body should be at least 1 chars long',
      'spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"',
      "spec.tags: Too many: 3: must have at most 2 items",
      'spec.tags[1]: Duplicate value: "a"',
      "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
    ]);
  });

  it("reports required fields, wrong types, int-or-string and nulls", () => {
    expect(messages({ spec: { replicas: "many", port: true, labels: { a: 1 }, image: null } })).toEqual([
      "spec.cronSpec: Required value",
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
      'spec.image: Invalid value: "null": spec.image in body must be of type string: "null"',
    ]);
  });

  it("checks an embedded resource's apiVersion and kind", () => {
    expect(messages({ spec: { cronSpec: "* * * * *", template: { spec: { a: "x" } } } })).toEqual(["spec.template.kind: Required value: must not be empty", "spec.template.apiVersion: Required value: must not be empty"]);
  });

  it("reports minimum and minItems and multipleOf", () => {
    expect(messages({ spec: { cronSpec: "* * * * *", replicas: 0, tags: [], ratio: 0.3 } })).toEqual([
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
      "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
      "spec.ratio: Invalid value: 0.3: spec.ratio in body should be a multiple of 0.25",
    ]);
  });
});

describe("pruneObject", () => {
  it("drops unknown fields, keeps preserved and embedded ones, and reports the paths", () => {
    const object = {
      apiVersion: "v",
      kind: "K",
      metadata: { name: "a", bogus: 1 },
      extra: true,
      spec: { cronSpec: "x", unknown: 1, free: { anything: { goes: 1 } }, template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p", junk: 1 }, spec: { a: "x", b: "y" } }, items: [{ name: "n", other: 1 }], labels: { k: "v" } },
    };
    expect(pruneObject(SCHEMA, object)).toEqual(["metadata.bogus", "extra", "spec.unknown", "spec.template.metadata.junk", "spec.template.spec.b", "spec.items[0].other"]);
    expect(object).toEqual({
      apiVersion: "v",
      kind: "K",
      metadata: { name: "a" },
      spec: { cronSpec: "x", free: { anything: { goes: 1 } }, template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { a: "x" } }, items: [{ name: "n" }], labels: { k: "v" } },
    });
  });
});

describe("applySchemaDefaults", () => {
  it("fills absent fields inside existing objects and array items, and leaves set ones", () => {
    const object: Record<string, unknown> = { spec: { cronSpec: "x", replicas: 4, items: [{ name: "a" }, { name: "b", weight: 1 }] } };
    applySchemaDefaults(SCHEMA, object);
    expect(object).toEqual({ spec: { cronSpec: "x", replicas: 4, image: "nginx", items: [{ name: "a", weight: 5 }, { name: "b", weight: 1 }] } });
    const noSpec: Record<string, unknown> = {};
    applySchemaDefaults(SCHEMA, noSpec);
    expect(noSpec).toEqual({});
  });
});

describe("withSchemaDefaults (defaulting on read)", () => {
  const schema: JSONSchemaProps = {
    type: "object",
    properties: {
      a: { type: "string", default: "A" },
      spec: { type: "object", properties: { items: { type: "array", items: { type: "object", properties: { w: { type: "integer", default: 1 } } } } } },
    },
  };

  it("answers the stored object itself when nothing is missing, and never changes it", () => {
    const complete = { a: "x", spec: { items: [{ w: 2 }] } };
    expect(withSchemaDefaults(schema, complete)).toBe(complete);
    const stored = { spec: { items: [{ w: 2 }, {}] } };
    const read = withSchemaDefaults(schema, stored);
    expect(read).toEqual({ a: "A", spec: { items: [{ w: 2 }, { w: 1 }] } });
    expect(stored).toEqual({ spec: { items: [{ w: 2 }, {}] } });
  });

  it("knows a schema without defaults, so reads of its objects skip the walk", () => {
    expect(schemaHasDefaults(schema)).toBe(true);
    expect(schemaHasDefaults({ type: "object", properties: { a: { type: "string" } } })).toBe(false);
    expect(schemaHasDefaults({ type: "object", additionalProperties: { type: "object", properties: { x: { type: "string", default: "y" } } } })).toBe(true);
  });
});

describe("validateStructural", () => {
  it("accepts a structural schema", () => {
    expect(validateStructural(SCHEMA, "s")).toEqual([]);
  });

  it("refuses missing types, a non-object root, bad defaults and metadata constraints", () => {
    const errs = validateStructural(
      {
        type: "object",
        properties: {
          metadata: { type: "object", properties: { labels: { type: "object" } } },
          spec: { properties: { a: { type: "integer", default: "x" }, list: { type: "array" } } },
        },
      },
      "spec.versions[0].schema.openAPIV3Schema",
    ).map((e) => `${e.field}: ${e.message}`);
    expect(errs).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[a].default: Invalid value: "string": spec.a in body must be of type integer: "string"',
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified",
    ]);
    expect(validateStructural({ type: "string" }, "s").map((e) => e.message)).toEqual(['Invalid value: "string": must be object at the root']);
  });
});
