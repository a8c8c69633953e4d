import { describe, expect, it } from "vitest";
import { negotiateReply, notAcceptable } from "./negotiate.js";

const GC_ACCEPT = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

describe("negotiateReply", () => {
  it.each([
    ["client-go's default, built-in kind", "application/vnd.kubernetes.protobuf,application/json", true, { encoding: "protobuf" }],
    ["client-go's default, custom resource", "application/vnd.kubernetes.protobuf,application/json", false, { encoding: "json" }],
    ["protobuf only, custom resource", "application/vnd.kubernetes.protobuf", false, undefined],
    ["no header", undefined, true, { encoding: "json" }],
    ["wildcard", "*/*", true, { encoding: "json" }],
    ["yaml", "application/yaml", true, { encoding: "yaml" }],
    ["q values win over order", "application/json;q=0.5,application/vnd.kubernetes.protobuf", true, { encoding: "protobuf" }],
    ["kubectl get's Table", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", true, { encoding: "json", as: "Table", version: "meta.k8s.io/v1" }],
    ["a protobuf Table is not served", "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", true, { encoding: "json" }],
    ["the garbage collector's metadata list", GC_ACCEPT, true, { encoding: "protobuf", as: "PartialObjectMetadata", version: "meta.k8s.io/v1", asked: "PartialObjectMetadataList" }],
    ["metadata of a custom resource in protobuf", GC_ACCEPT, false, { encoding: "protobuf", as: "PartialObjectMetadata", version: "meta.k8s.io/v1", asked: "PartialObjectMetadataList" }],
    ["client-go's metadata get", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", true, { encoding: "json", as: "PartialObjectMetadata", version: "meta.k8s.io/v1", asked: "PartialObjectMetadata" }],
    ["a Table in YAML (Kubernetes serves Tables in JSON and YAML)", "application/yaml;as=Table;v=v1beta1;g=meta.k8s.io", true, { encoding: "yaml", as: "Table", version: "meta.k8s.io/v1beta1" }],
    ["an unknown type", "text/html", true, undefined],
    ["an unknown as=", "application/json;as=Bogus;g=meta.k8s.io;v=v1", true, undefined],
  ])("%s", (_name, accept, protobuf, expected) => {
    expect(negotiateReply(accept, protobuf)).toEqual(expected);
  });

  it("passes over Table offers for a resource without a Table conversion (a review kind): 406 when nothing else fits", () => {
    expect(negotiateReply("application/json;as=Table;v=v1;g=meta.k8s.io", true, false)).toBeUndefined();
    expect(negotiateReply("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", true, false)).toEqual({ encoding: "json" });
    expect(negotiateReply("application/json;as=Table;v=v1;g=meta.k8s.io", true, true)).toEqual({ encoding: "json", as: "Table", version: "meta.k8s.io/v1" });
  });

  it("refuses with Kubernetes' message, naming protobuf only where it is served", () => {
    expect(notAcceptable(true).toStatus()).toMatchObject({ code: 406, reason: "NotAcceptable", message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf" });
    expect(notAcceptable(false).message).toBe("only the following media types are accepted: application/json, application/yaml");
  });
});
