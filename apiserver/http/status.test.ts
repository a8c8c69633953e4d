import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { badRequest, invalid, notFound } from "../../api/errors.js";
import { sendStatus, statusSuccess, toStatus } from "./status.js";

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => {
    if (server) server.close(() => { resolve(); });
    else resolve();
  });
  server = undefined;
});

/** Serves one handler on 127.0.0.1:0 and returns its base URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("sendStatus", () => {
  it("answers a StatusError with its code and a Failure Status", async () => {
    const url = await serve((_req, res) => { sendStatus(res, notFound("deployments.apps", "web")); });
    const reply = await fetch(url);
    expect(reply.status).toBe(404);
    expect(reply.headers.get("content-type")).toBe("application/json");
    expect(await reply.json()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'deployments.apps "web" not found',
      reason: "NotFound",
      details: { name: "web", kind: "deployments", group: "apps" },
      code: 404,
    });
  });

  it("keeps 422 causes, which kubectl prints field by field", async () => {
    const err = invalid("Pod", "", "p", [{ type: "FieldValueRequired", field: "spec.containers[0].image", message: "Required value" }]);
    const url = await serve((_req, res) => { sendStatus(res, err); });
    const reply = await fetch(url);
    expect(reply.status).toBe(422);
    const body = (await reply.json()) as { details: { causes: unknown[] } };
    expect(body.details.causes).toEqual([{ reason: "FieldValueRequired", message: "Required value", field: "spec.containers[0].image" }]);
  });

  it("answers any other error with a 500 InternalError that does not leak its message or stack", async () => {
    const url = await serve((_req, res) => { sendStatus(res, new Error("etcd at 10.0.0.7:2379 exploded")); });
    const reply = await fetch(url);
    expect(reply.status).toBe(500);
    const text = await reply.text();
    expect(text).not.toContain("10.0.0.7");
    expect(text).not.toContain("at ");
    expect(JSON.parse(text)).toMatchObject({ kind: "Status", status: "Failure", reason: "InternalError", code: 500 });
  });

  it("ends a response whose headers are already out instead of throwing", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("partial log line\n");
      sendStatus(res, badRequest("too late"));
    });
    const reply = await fetch(url);
    expect(reply.status).toBe(200);
    expect(await reply.text()).toBe("partial log line\n");
  });
});

describe("toStatus", () => {
  it("maps non-Error throwables to InternalError", () => {
    expect(toStatus("a string")).toMatchObject({ reason: "InternalError", code: 500 });
    expect(toStatus(badRequest("x"))).toMatchObject({ reason: "BadRequest", code: 400, message: "x" });
  });
});

describe("statusSuccess", () => {
  it("is the Success Status a delete returns", () => {
    expect(statusSuccess({ name: "web", group: "apps", kind: "deployments", uid: "u1" })).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "web", group: "apps", kind: "deployments", uid: "u1" },
    });
    expect(statusSuccess()).not.toHaveProperty("code");
  });
});
