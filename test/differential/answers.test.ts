// The normalizer keeps what the differential suite compares and drops only what it lists.
import { describe, expect, it } from "vitest";
import { normalize } from "./answers.js";

function answer(status: number, body: unknown, contentType = "application/json"): { status: number; contentType: string; warning: boolean; text: string } {
  return { status, contentType, warning: false, text: typeof body === "string" ? body : JSON.stringify(body) };
}

describe("normalize", () => {
  it("keeps a Status's reason, details.kind and sorted cause fields, not its message", () => {
    const status = { kind: "Status", apiVersion: "v1", status: "Failure", message: "any words", reason: "Invalid", code: 422, details: { kind: "ConfigMap", causes: [{ field: "metadata.name", message: "x" }, { field: "data", message: "y" }, { field: "data" }] } };
    expect(normalize(answer(422, status))).toEqual({ httpStatus: 422, contentType: "application/json", kind: "Status", apiVersion: "v1", statusReason: "Invalid", code: 422, detailsKind: "ConfigMap", causeFields: ["data", "metadata.name"] });
  });

  it("keeps a Status's message and details word for word with exactStatus", () => {
    const status = { kind: "Status", apiVersion: "v1", status: "Failure", message: 'services "x" not found', reason: "NotFound", code: 404, details: { name: "x", kind: "services" } };
    expect(normalize(answer(404, status), { exactStatus: true })).toEqual({ httpStatus: 404, contentType: "application/json", kind: "Status", apiVersion: "v1", statusReason: "NotFound", code: 404, detailsKind: "services", message: 'services "x" not found', details: { name: "x", kind: "services" } });
  });

  it("keeps only the presence of a TokenRequest's token and expiration time, and its spec as it is", () => {
    const reply = { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", metadata: { name: "sa", namespace: "ns" }, spec: { audiences: ["a"], expirationSeconds: 3600, boundObjectRef: null }, status: { token: "eyJ...", expirationTimestamp: "2026-01-01T00:00:00Z" } };
    expect(normalize(answer(201, reply))).toMatchObject({ spec: { audiences: ["a"], expirationSeconds: 3600, boundObjectRef: null }, status: { token: "<set>", expirationTimestamp: "<set>" } });
    expect(normalize(answer(201, { ...reply, spec: { audiences: ["a"], expirationSeconds: 3600 } }))).not.toEqual(normalize(answer(201, reply)));
  });

  it("drops uid, resourceVersion, timestamps and managedFields times, and a generated name's suffix", () => {
    const cm = {
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { name: "g-x7k2p", generateName: "g-", namespace: "ns", uid: "u", resourceVersion: "9", creationTimestamp: "2026-01-01T00:00:00Z", managedFields: [{ manager: "m", operation: "Update", apiVersion: "v1", time: "t", fieldsType: "FieldsV1", fieldsV1: { "f:data": {} } }] },
      data: { a: "1" },
    };
    expect(normalize(answer(201, cm))).toEqual({
      httpStatus: 201,
      contentType: "application/json",
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { name: "g-<generated>", generateName: "g-", namespace: "ns", managedFields: [{ manager: "m", operation: "Update", subresource: null, fieldsV1: { "f:data": {} } }] },
      data: { a: "1" },
    });
  });

  it("still tells two objects apart by their content", () => {
    const a = normalize(answer(200, { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c" }, data: { a: "1" } }));
    const b = normalize(answer(200, { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c" }, data: { a: "2" } }));
    expect(a).not.toEqual(b);
  });

  it("reduces a list to its item names and whether it continues, and a watch to its events", () => {
    const list = { kind: "ConfigMapList", apiVersion: "v1", metadata: { continue: "token", resourceVersion: "5" }, items: [{ metadata: { name: "b", namespace: "ns" } }, { metadata: { name: "a", namespace: "ns" } }] };
    expect(normalize(answer(200, list))).toMatchObject({ kind: "ConfigMapList", continued: true, items: ["ns/a", "ns/b"] });
    const events = ['{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"3"}}}', '{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"b"}}}', ""].join("\n");
    expect(normalize(answer(200, events))).toMatchObject({ events: [{ type: "ADDED", object: { metadata: { name: "a" } } }, { type: "ADDED", object: { metadata: { name: "b" } } }] });
  });

  it("keeps only the content type of a body that is not JSON, and marks no answer", () => {
    expect(normalize(answer(200, "kind: ConfigMap\n", "application/yaml"))).toEqual({ httpStatus: 200, contentType: "application/yaml", body: "<not JSON>" });
    expect(normalize({ status: 0, contentType: "", warning: false, text: "no answer" })).toEqual({ httpStatus: 0, contentType: "", noAnswer: true });
  });
});
