// A proxy subresource's id names its target object as Kubernetes' SplitSchemeNamePort reads it.
import { describe, expect, it } from "vitest";
import { StatusError } from "../api/errors.js";
import { proxyTargetName } from "./server.js";

describe("proxyTargetName", () => {
  it.each([
    ["web", "web"],
    ["web:80", "web"],
    ["web:http", "web"],
    ["https:web:443", "web"],
    ["http:web:", "web"],
  ])("reads %s as the object %s", (id, name) => {
    expect(proxyTargetName("services", id)).toBe(name);
  });

  it.each([
    ["services", "ftp:web:21", 'invalid service request "ftp:web:21"'],
    ["pods", ":80", 'invalid pod request ":80"'],
    ["nodes", "a:b:c:d", 'invalid node request "a:b:c:d"'],
  ])("refuses a %s id %s with 400", (resource, id, message) => {
    let thrown: unknown;
    try {
      proxyTargetName(resource, id);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StatusError);
    expect((thrown as StatusError).code).toBe(400);
    expect((thrown as StatusError).message).toBe(message);
  });
});
