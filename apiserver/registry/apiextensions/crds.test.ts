import { describe, expect, it } from "vitest";
import { defaultCRD, validateCRD } from "./crds.js";
import { acceptedCRDs, compareKubeVersions } from "./custom-resources.js";
import type { CustomResourceDefinition } from "./types.js";

function crd(name: string, overrides: Partial<NonNullable<CustomResourceDefinition["spec"]>> = {}, created = "2026-01-01T00:00:00Z"): CustomResourceDefinition {
  const object: CustomResourceDefinition = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name, creationTimestamp: created },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: { plural: "crontabs", kind: "CronTab" },
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } }],
      ...overrides,
    },
  };
  defaultCRD(object);
  return object;
}

function messages(object: CustomResourceDefinition, old?: CustomResourceDefinition): string[] {
  return validateCRD(object, old).map((e) => `${e.field}: ${e.message}`);
}

describe("CustomResourceDefinition defaults and validation", () => {
  it("defaults singular, listKind and the conversion strategy", () => {
    const object = crd("crontabs.stable.example.com");
    expect(object.spec?.names).toEqual({ plural: "crontabs", kind: "CronTab", singular: "crontab", listKind: "CronTabList" });
    expect(object.spec?.conversion).toEqual({ strategy: "None" });
    expect(messages(object)).toEqual([]);
  });

  it("requires the <plural>.<group> name, a dotted group, a scope and one storage version", () => {
    expect(messages(crd("crontab.stable.example.com"))).toEqual(['metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group']);
    expect(messages(crd("crontabs.example", { group: "example" }))).toEqual(['spec.group: Invalid value: "example": should be a domain with at least one dot']);
    expect(messages(crd("crontabs.stable.example.com", { scope: "Global" }))).toEqual(['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']);
    const twoStorage = crd("crontabs.stable.example.com", {
      versions: [
        { name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } },
        { name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } },
      ],
    });
    expect(messages(twoStorage)).toEqual(['spec.versions: Invalid value: []string{"v1", "v1"}: must have exactly one version marked as storage version', 'spec.versions[1].name: Duplicate value: "v1"']);
  });

  it("requires structural schemas and valid printer columns and scale paths", () => {
    const object = crd("crontabs.stable.example.com", {
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", properties: { spec: { properties: {} } } } },
          additionalPrinterColumns: [{ name: "X", type: "text", jsonPath: "spec.x" }],
          subresources: { scale: { specReplicasPath: ".status.replicas", statusReplicasPath: ".status.replicas" } },
        },
        { name: "v2", served: true, storage: false },
      ],
    });
    expect(messages(object)).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
      'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
      'spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "text": supported values: "integer", "number", "string", "boolean", "date"',
      'spec.versions[0].additionalPrinterColumns[0].jsonPath: Invalid value: "spec.x": must be a simple json path starting with .',
      "spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required",
    ]);
  });

  it("keeps the scope immutable", () => {
    const old = crd("crontabs.stable.example.com");
    expect(messages(crd("crontabs.stable.example.com", { scope: "Cluster" }), old)).toEqual(['spec.scope: Invalid value: "Cluster": field is immutable']);
  });
});

describe("names acceptance and version priority", () => {
  it("refuses a younger CRD whose names clash within its group", () => {
    const first = crd("crontabs.stable.example.com", { names: { plural: "crontabs", kind: "CronTab", shortNames: ["ct"] } }, "2026-01-01T00:00:00Z");
    const second = crd("cts.stable.example.com", { names: { plural: "cts", kind: "Other", shortNames: ["ct"] } }, "2026-01-01T00:00:01Z");
    const elsewhere = crd("cts.other.example.com", { group: "other.example.com", names: { plural: "cts", kind: "Other" } }, "2026-01-01T00:00:02Z");
    expect([...acceptedCRDs([second, first, elsewhere])].sort()).toEqual(["crontabs.stable.example.com", "cts.other.example.com"]);
  });

  it("orders versions as Kubernetes does", () => {
    expect(["v1alpha1", "v1beta1", "foo", "v2", "v1", "v2beta1", "v1beta2"].sort(compareKubeVersions)).toEqual(["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
  });
});
