// Protobuf replies: every built-in kind and list encoded from its JSON and decoded again with the same schema.
// The sample objects are made from the schema itself (every field set, none zero), so a field the encoder drops or
// mangles shows up as a difference, kind by kind.
import protobuf from "protobufjs";
import type { Field, Type } from "protobufjs";
import { describe, expect, it } from "vitest";
import { isRecord } from "../../api/meta.js";
import { RESOURCES, apiVersionOf } from "../../api/resources.js";
import { PROTOBUF_MAGIC, decodeProtobufBody, encodeProtobufObject, encodeProtobufWatchFrame, hasProtobufMessage, protobufSchema } from "./protobuf.js";

const PACKAGE = "kubelab.k8s";

function messageOf(apiVersion: string, kind: string): Type {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "core" : apiVersion.slice(0, slash).split(".")[0] ?? "";
  return protobufSchema().lookupType(`${PACKAGE}.${group}.${apiVersion.slice(slash + 1)}.${kind}`);
}

/** A JSON value for every field of `type` (embedded messages inlined), nested up to a depth. */
function sample(type: Type, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = sampleField(field, depth);
    if (value === undefined) continue;
    if (field.options?.["(embedded)"] === true && isRecord(value)) Object.assign(out, value);
    else out[typeof field.options?.["(json)"] === "string" ? field.options["(json)"] : field.name] = value;
  }
  return out;
}

function sampleField(field: Field, depth: number): unknown {
  const one = sampleSingle(field, depth);
  if (one === undefined) return undefined;
  if (field.map) return { [`key-${field.name}`]: one };
  if (field.repeated) return [one];
  return one;
}

function sampleSingle(field: Field, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    switch (resolved.fullName) {
      case `.${PACKAGE}.Time`:
        return "2024-01-02T03:04:05Z";
      case `.${PACKAGE}.MicroTime`:
        return "2024-01-02T03:04:05.123456Z";
      case `.${PACKAGE}.Quantity`:
        return "250m";
      case `.${PACKAGE}.IntOrString`:
        return field.id % 2 === 0 ? 8080 : "http";
      case `.${PACKAGE}.FieldsV1`:
        return { "f:metadata": { "f:labels": {} } };
      case `.${PACKAGE}.RawExtension`:
        return { apiVersion: "v1", kind: "Thing", spec: { n: 1 } };
      // apiextensions' schema types: recursive many times over, so nested only a little, and unions in each form.
      case `.${PACKAGE}.apiextensions.v1.JSON`:
        return field.id % 2 === 0 ? { n: 1, s: "x" } : "text";
      case `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrBool`:
        return depth > 3 ? false : { type: "string" };
      case `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrArray`:
        return depth > 3 ? [{ type: "integer" }, { type: "string" }] : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
      case `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrStringArray`:
        return depth > 3 ? ["a", "b"] : { required: ["a"] };
      default: {
        if (resolved.options?.["(list)"] === true) {
          const items = resolved.fields.items;
          return items === undefined ? undefined : [sampleSingle(items, depth + 1)];
        }
        if (depth > 8 || (resolved.name === "JSONSchemaProps" && depth > 4)) return undefined;
        const nested = sample(resolved, depth + 1);
        return Object.keys(nested).length > 0 ? nested : undefined;
      }
    }
  }
  switch (field.type) {
    case "string":
      return `s-${field.name}`;
    case "bool":
      return true;
    case "bytes":
      return Buffer.from(`b-${field.name}`).toString("base64");
    case "double":
    case "float":
      return 1.5;
    default:
      return 7;
  }
}

function envelopeOf(body: Buffer): { apiVersion: string; kind: string } {
  const unknown = protobufSchema().lookupType(`${PACKAGE}.Unknown`).decode(body.subarray(PROTOBUF_MAGIC.length)) as unknown as { typeMeta: { apiVersion: string; kind: string }; contentType?: string };
  return unknown.typeMeta;
}

const builtIn = RESOURCES.filter((r) => hasProtobufMessage(apiVersionOf(r), r.kind));

describe("encodeProtobufObject", () => {
  it("has a message for every built-in kind, APIService and CustomResourceDefinition included", () => {
    const without = RESOURCES.filter((r) => !hasProtobufMessage(apiVersionOf(r), r.kind)).map((r) => `${apiVersionOf(r)} ${r.kind}`);
    expect(without).toEqual([]);
    expect(builtIn.length).toBeGreaterThan(50);
  });

  it.each(builtIn.map((r) => [`${apiVersionOf(r)} ${r.kind}`, r] as const))("round-trips %s and its list", (_name, r) => {
    const apiVersion = apiVersionOf(r);
    const object = { apiVersion, kind: r.kind, ...sample(messageOf(apiVersion, r.kind), 0) };
    const body = encodeProtobufObject(object);
    expect(body).toBeDefined();
    expect(body!.subarray(0, 4).equals(PROTOBUF_MAGIC)).toBe(true);
    expect(envelopeOf(body!)).toEqual({ apiVersion, kind: r.kind });
    expect(decodeProtobufBody(body!)).toEqual(object);

    // A list's items carry no apiVersion and kind on the wire.
    const { apiVersion: _v, kind: _k, ...item } = object;
    const list = { apiVersion, kind: r.listKind, metadata: { resourceVersion: "42", continue: "token", remainingItemCount: 3 }, items: [item, item] };
    const listBody = encodeProtobufObject(list);
    expect(listBody).toBeDefined();
    expect(decodeProtobufBody(listBody!)).toEqual(list);
  });

  it("keeps pointer zeros and drops what JSON would omit", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", creationTimestamp: null, labels: {} },
      spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { metadata: {}, spec: { containers: [{ name: "c", image: "i" }], volumes: [{ name: "v", emptyDir: {} }] } } },
      status: { observedGeneration: 0 },
    };
    expect(decodeProtobufBody(encodeProtobufObject(deployment)!)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { spec: { containers: [{ name: "c", image: "i" }], volumes: [{ name: "v", emptyDir: {} }] } } },
    });
  });

  it("writes a Status, a PartialObjectMetadataList and leaves custom resources to JSON", () => {
    const status = { apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", message: 'pods "x" not found', reason: "NotFound", details: { name: "x", kind: "pods", causes: [{ reason: "FieldValueInvalid", message: "bad", field: "spec" }] }, code: 404 };
    expect(decodeProtobufBody(encodeProtobufObject(status)!)).toEqual({ ...status, metadata: {} });
    const partial = { apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadataList", metadata: { resourceVersion: "9" }, items: [{ apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: { name: "a", uid: "u", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "r", uid: "v", controller: true }] } }] };
    // Items of a list carry no typeMeta on the wire.
    expect(decodeProtobufBody(encodeProtobufObject(partial)!)).toEqual({ ...partial, items: [{ metadata: partial.items[0]!.metadata }] });
    expect(encodeProtobufObject({ apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "a" } })).toBeUndefined();
  });

  it("keeps a MicroTime's microseconds and a time zone's offset", () => {
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "n", creationTimestamp: "2024-01-02T05:04:05+02:00" }, spec: { renewTime: "2024-01-02T03:04:05.000042Z" } };
    expect(decodeProtobufBody(encodeProtobufObject(lease)!)).toEqual({ ...lease, metadata: { name: "n", creationTimestamp: "2024-01-02T03:04:05Z" } });
  });
});

describe("encodeProtobufWatchFrame", () => {
  it("is a big-endian length, then a WatchEvent whose object is the object's whole body", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default", resourceVersion: "5" } };
    const body = encodeProtobufObject(pod)!;
    const frame = encodeProtobufWatchFrame("ADDED", body);
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    const event = protobufSchema().lookupType(`${PACKAGE}.WatchEvent`).decode(frame.subarray(4)) as unknown as { type: string; object: { raw: Uint8Array } };
    expect(event.type).toBe("ADDED");
    expect(decodeProtobufBody(Buffer.from(event.object.raw))).toEqual(pod);
  });
});

describe("apiextensions.k8s.io/v1 schemas in protobuf", () => {
  it("round-trips a CustomResourceDefinition's schema: $ref, x-kubernetes-* names, defaults, enums and each union form", () => {
    const schema = {
      type: "object",
      required: ["spec"],
      properties: {
        spec: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: {
            replicas: { type: "integer", default: 1, minimum: 0, maximum: 10 },
            mode: { type: "string", enum: ["a", "b"], default: "a" },
            ports: { type: "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"], items: { type: "object", properties: { port: { type: "integer" } } } },
            labels: { type: "object", additionalProperties: { type: "string" } },
            closed: { type: "object", additionalProperties: false },
            tuple: { type: "array", items: [{ type: "string" }, { type: "integer" }] },
            port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
          },
          dependencies: { a: ["b"], c: { required: ["d"] } },
        },
      },
    };
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "crontabs.stable.example.com" },
      spec: {
        group: "stable.example.com",
        scope: "Namespaced",
        names: { plural: "crontabs", singular: "crontab", kind: "CronTab", shortNames: ["ct"] },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema }, subresources: { status: {} }, additionalPrinterColumns: [{ name: "Spec", type: "string", jsonPath: ".spec.cronSpec" }] }],
      },
    };
    const decoded = decodeProtobufBody(encodeProtobufObject(crd)!);
    expect(decoded).toEqual(crd);
  });

  it("round-trips an APIService", () => {
    const apiService = {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: "v1beta1.metrics.k8s.io" },
      spec: { service: { namespace: "kube-system", name: "metrics-server", port: 443 }, group: "metrics.k8s.io", version: "v1beta1", insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
      status: { conditions: [{ type: "Available", status: "True", lastTransitionTime: "2024-01-02T03:04:05Z", reason: "Passed", message: "all checks passed" }] },
    };
    expect(decodeProtobufBody(encodeProtobufObject(apiService)!)).toEqual(apiService);
  });
});
