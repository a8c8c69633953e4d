// How the lab itself (`kubelab up`'s supervisor and commands: add-ons, RBAC for its tools, node bookkeeping,
// readiness waits) talks to its apiserver. A secure lab has no insecure port: the lab is a client like any other, with
// the admin's kubeconfig (<home>/pki/admin.conf: HTTPS verified with the lab's CA, the admin's client certificate);
// the 0.18 lab uses the insecure port with no credential. Answers of any status come back as they are, so callers
// keep deciding what a 404 or a 409 means; only no answer at all (refused, timed out, TLS refused) throws.
import { StatusError } from "../../api/errors.js";
import { loadKubeconfig, type ClientConfig } from "../../client/kubeconfig.js";
import { RestClient } from "../../client/rest.js";
import { labPkiPaths } from "../pki/pki.js";
import { apiserverUrl, pkiDir, type LabConfig } from "./config.js";

export interface LabApiAnswer {
  code: number;
  ok: boolean;
  /** The decoded JSON body of a 2xx answer; otherwise the error's message. */
  body: unknown;
}

/** The lab's own client configuration: the admin kubeconfig of a secure lab, the bare URL of an insecure one. */
export function labClientConfig(config: LabConfig): ClientConfig {
  if (config.secure && config.container === undefined) return loadKubeconfig(labPkiPaths(pkiDir(config)).admin.kubeconfig);
  return { server: apiserverUrl(config), namespace: "default" };
}

/** One request of the lab's (no retries: the lab's loops retry themselves); 10 s unless timeoutMs says otherwise. */
export async function labRequest(config: LabConfig, method: "GET" | "POST" | "DELETE", path: string, body?: unknown, timeoutMs = 10_000): Promise<LabApiAnswer> {
  const client = new RestClient(labClientConfig(config), { userAgent: "kubelab", timeoutMs, maxRetries: 0, qps: 0 });
  try {
    const reply = await client.raw(method, path, body);
    return { code: reply.code, ok: true, body: reply.body };
  } catch (err) {
    if (err instanceof StatusError) return { code: err.code, ok: false, body: err.message };
    throw err;
  } finally {
    client.close();
  }
}

/** GET's body when the apiserver answered 2xx, else undefined (no answer, an error, not there yet). */
export async function labGet(config: LabConfig, path: string, timeoutMs?: number): Promise<unknown> {
  const answer = await labRequest(config, "GET", path, undefined, timeoutMs).catch(() => undefined);
  return answer?.ok === true ? answer.body : undefined;
}

/** POSTs an object; "exists" for a 409 (left as it is), throws for any other failure. */
export async function labCreate(config: LabConfig, path: string, object: unknown): Promise<"created" | "exists"> {
  const answer = await labRequest(config, "POST", path, object);
  if (answer.code === 409) return "exists";
  if (!answer.ok) throw new Error(`POST ${path}: ${answer.code} ${String(answer.body)}`);
  return "created";
}
