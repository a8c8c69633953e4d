import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatusError } from "./errors.js";
import {
  convertFieldSelector,
  escapeFieldValue,
  fieldSelectorFromSet,
  fieldsOf,
  parseFieldSelector,
  supportedFields,
  unescapeFieldValue,
  validateFieldSelector,
} from "./fields.js";
import type { KubeObject } from "./meta.js";

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

describe("parseFieldSelector", () => {
  it.each([
    ["", ""],
    ["metadata.name=web", "metadata.name=web"],
    ["metadata.name==web", "metadata.name=web"],
    ["status.phase!=Failed,spec.nodeName=n1,status.phase!=Succeeded", "spec.nodeName=n1,status.phase!=Failed,status.phase!=Succeeded"],
    ["a=x\\,y", "a=x\\,y"],
    ["a=x\\=y\\\\z", "a=x\\=y\\\\z"],
    ["a=", "a="],
    ["a=b,,c=d", "a=b,c=d"],
  ])("reads %j in the canonical form %j", (text, canonical) => {
    expect(parseFieldSelector(text).toString()).toBe(canonical);
  });

  it("unescapes values", () => {
    expect(parseFieldSelector("a=x\\,y\\=z\\\\").terms).toEqual([{ field: "a", operator: "=", value: "x,y=z\\" }]);
  });

  it.each([
    ["abc", "invalid selector: 'abc'; can't understand 'abc'"],
    ["a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"],
    ["a=b\\x", "invalid field selector: invalid escape sequence: \\x"],
    ["a=b\\", "invalid field selector: invalid escape sequence: \\"],
    ["a=b=c", "invalid field selector: unescaped character in value: ="],
  ])("rejects %j with 400 %j", (text, message) => {
    const err = statusOf(() => parseFieldSelector(text));
    expect(err.code).toBe(400);
    expect(err.message).toBe(message);
  });

  it.each([
    ["metadata.name=web", { "metadata.name": "web" }, true],
    ["metadata.name=web", { "metadata.name": "db" }, false],
    ["spec.nodeName=", { "spec.nodeName": "" }, true],
    ["spec.nodeName=", {}, true],
    ["spec.nodeName!=", { "spec.nodeName": "n1" }, true],
    ["spec.nodeName!=", {}, false],
    ["status.phase!=Succeeded,status.phase!=Failed", { "status.phase": "Running" }, true],
    ["status.phase!=Succeeded,status.phase!=Failed", { "status.phase": "Failed" }, false],
    ["", { anything: "x" }, true],
  ])("%j matching %j is %s", (text, fields: Record<string, string>, expected) => {
    expect(parseFieldSelector(text).matches(fields)).toBe(expected);
  });

  it.each([
    ["metadata.name=web,spec.nodeName=n1", "spec.nodeName", "n1"],
    ["metadata.name==web", "metadata.name", "web"],
    ["metadata.name!=web", "metadata.name", undefined],
    ["spec.nodeName=n1", "metadata.name", undefined],
  ])("%j requires %s to be exactly %j", (text, field, value) => {
    expect(parseFieldSelector(text).requiresExactMatch(field)).toBe(value);
  });

  it("says whether it is empty", () => {
    expect(parseFieldSelector("").empty).toBe(true);
    expect(parseFieldSelector("a=b").empty).toBe(false);
  });
});

describe("fieldsOf", () => {
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: { nodeName: "n1", restartPolicy: "Always", schedulerName: "default-scheduler", serviceAccountName: "default", hostNetwork: true },
    status: { phase: "Running", podIP: "10.244.1.5", podIPs: [{ ip: "10.244.1.5" }, { ip: "fd00::5" }], nominatedNodeName: "n2" },
  };

  it("selects CertificateSigningRequests by spec.signerName, as Kubernetes (the CSR conformance test lists by it)", () => {
    expect(supportedFields("CertificateSigningRequest")).toContain("spec.signerName");
    const csr: KubeObject = { apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", metadata: { name: "c" }, spec: { signerName: "example.com/e2e" } };
    expect(fieldsOf("CertificateSigningRequest", csr)["spec.signerName"]).toBe("example.com/e2e");
  });

  it("gives a pod's selectable fields", () => {
    expect(fieldsOf("Pod", pod)).toEqual({
      "metadata.name": "web",
      "metadata.namespace": "default",
      "spec.nodeName": "n1",
      "spec.restartPolicy": "Always",
      "spec.schedulerName": "default-scheduler",
      "spec.serviceAccountName": "default",
      "spec.hostNetwork": "true",
      "status.phase": "Running",
      "status.podIP": "10.244.1.5",
      "status.nominatedNodeName": "n2",
    });
  });

  it("gives empty strings and Go zero values for fields a fresh pod lacks", () => {
    const fields = fieldsOf("Pod", { metadata: { name: "p" } });
    expect(fields["metadata.namespace"]).toBe("");
    expect(fields["spec.nodeName"]).toBe("");
    expect(fields["spec.hostNetwork"]).toBe("false");
    expect(fields["status.podIP"]).toBe("");
  });

  it("lets kubectl describe node find the node's running pods", () => {
    const selector = parseFieldSelector("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed");
    expect(selector.matches(fieldsOf("Pod", pod))).toBe(true);
    expect(selector.matches(fieldsOf("Pod", { ...pod, status: { phase: "Succeeded" } }))).toBe(false);
  });

  it("gives an event's involvedObject fields, with source falling back to the reporting component", () => {
    const event: KubeObject = {
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { kind: "Pod", namespace: "default", name: "web", uid: "u1", apiVersion: "v1", resourceVersion: "7", fieldPath: "spec.containers{app}" },
      reason: "Scheduled",
      reportingComponent: "default-scheduler",
      type: "Normal",
    };
    expect(fieldsOf("Event", event)).toEqual({
      "metadata.name": "web.1",
      "metadata.namespace": "default",
      "involvedObject.kind": "Pod",
      "involvedObject.namespace": "default",
      "involvedObject.name": "web",
      "involvedObject.uid": "u1",
      "involvedObject.apiVersion": "v1",
      "involvedObject.resourceVersion": "7",
      "involvedObject.fieldPath": "spec.containers{app}",
      reason: "Scheduled",
      reportingComponent: "default-scheduler",
      source: "default-scheduler",
      type: "Normal",
    });
    expect(fieldsOf("Event", { ...event, source: { component: "kubelet" } }).source).toBe("kubelet");
  });

  it.each([
    ["Node", { metadata: { name: "n1" }, spec: { unschedulable: true } }, "spec.unschedulable", "true"],
    ["Node", { metadata: { name: "n1" } }, "spec.unschedulable", "false"],
    ["Namespace", { metadata: { name: "ns" }, status: { phase: "Active" } }, "status.phase", "Active"],
    ["Secret", { metadata: { name: "s" }, type: "Opaque" }, "type", "Opaque"],
    ["ReplicaSet", { metadata: { name: "rs" }, status: { replicas: 3 } }, "status.replicas", "3"],
    ["ReplicationController", { metadata: { name: "rc" } }, "status.replicas", "0"],
    ["Service", { metadata: { name: "svc" }, spec: { clusterIP: "None", type: "ClusterIP" } }, "spec.clusterIP", "None"],
    ["Job", { metadata: { name: "j" }, status: { successful: 1 } }, "status.successful", "1"],
    ["ConfigMap", { metadata: { name: "cm", namespace: "x" } }, "metadata.namespace", "x"],
  ])("gives a %s its %s... field %s = %j", (kind, obj: KubeObject, field, value) => {
    expect(fieldsOf(kind, obj)[field]).toBe(value);
  });
});

describe("supportedFields and validateFieldSelector", () => {
  it.each([
    ["ConfigMap", ["metadata.name", "metadata.namespace"]],
    ["Node", ["metadata.name", "metadata.namespace", "spec.unschedulable"]],
    ["constructor", ["metadata.name", "metadata.namespace"]],
  ])("lists the fields of %s", (kind, fields) => {
    expect(supportedFields(kind)).toEqual(fields);
  });

  it("accepts the fields kubectl uses", () => {
    expect(() => { validateFieldSelector("Pod", parseFieldSelector("spec.nodeName=n1,status.phase!=Failed,metadata.name=x")); }).not.toThrow();
    expect(() => { validateFieldSelector("Event", parseFieldSelector("involvedObject.name=web,involvedObject.uid=u1")); }).not.toThrow();
  });

  it("rejects an unsupported field with Kubernetes' 400", () => {
    const err = statusOf(() => { validateFieldSelector("Pod", parseFieldSelector("metadata.name=x,spec.host=n1")); });
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toBe("field label not supported: spec.host");
  });

  it("takes events.k8s.io's field labels for the stored core Event's (reportingController, regarding.*), and only those", () => {
    const selector = convertFieldSelector("events.k8s.io", "Event", parseFieldSelector("reportingController=kubelet,regarding.name=web-1,type=Normal"));
    expect(selector.toString()).toBe("involvedObject.name=web-1,reportingComponent=kubelet,type=Normal");
    const stored = { apiVersion: "v1", kind: "Event", metadata: { name: "e" }, involvedObject: { name: "web-1" }, reportingComponent: "kubelet", type: "Normal" };
    expect(selector.matches(fieldsOf("Event", stored))).toBe(true);
    expect(statusOf(() => convertFieldSelector("events.k8s.io", "Event", parseFieldSelector("involvedObject.name=web-1"))).message).toBe("field label not supported: involvedObject.name");
    expect(statusOf(() => convertFieldSelector("events.k8s.io", "Event", parseFieldSelector("source=kubelet"))).message).toBe("field label not supported: source");
    const core = parseFieldSelector("involvedObject.name=web-1");
    expect(convertFieldSelector("", "Event", core)).toBe(core);
  });
});

describe("field selector properties", () => {
  const field = fc.stringMatching(/^[a-z][a-zA-Z.]{0,12}$/);
  const anyValue = fc.string({ maxLength: 12 });

  it("unescapes every escaped value back to itself", () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        expect(unescapeFieldValue(escapeFieldValue(value))).toBe(value);
      }),
    );
  });

  it("parses the string of a selector built from a set into one that matches the set", () => {
    fc.assert(
      fc.property(fc.dictionary(field, anyValue, { maxKeys: 5 }), (set) => {
        const selector = parseFieldSelector(fieldSelectorFromSet(set).toString());
        expect(selector.matches(set)).toBe(true);
        expect(selector.terms).toHaveLength(Object.keys(set).length);
      }),
    );
  });
});
