// Sends a corpus request to an apiserver (kubelab's plain HTTP, or the real one's TLS with a bearer token) and
// reduces the answer to what is compared: the parts that matter to clients and stay the same from run to run.
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { CorpusRequest } from "./corpus.js";

export interface Target {
  url: string;
  /** A bearer token (the real apiserver's static token, or the test run's admin token). */
  token?: string;
  /** The CA that signed the server's certificate; without it an https server's certificate is not checked (the real
   * apiserver's self-signed one, made in its own --cert-dir). */
  caFile?: string;
}

export interface RawAnswer {
  status: number;
  contentType: string;
  warning: boolean;
  text: string;
}

/** One request on its own connection; a server that does not answer within `timeoutMs` gives status 0. */
export function send(target: Target, req: CorpusRequest, timeoutMs = 20_000): Promise<RawAnswer> {
  const url = new URL(req.path, target.url);
  const payload = req.body === undefined ? undefined : Buffer.from(typeof req.body === "string" ? req.body : JSON.stringify(req.body));
  // Every client sends a User-Agent; the field manager of a write without fieldManager is named after it.
  const headers: Record<string, string> = { Accept: req.accept ?? "application/json", "User-Agent": req.userAgent ?? "diff-client/v1.0.0" };
  if (headers["User-Agent"] === "") delete headers["User-Agent"];
  if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
  if (payload !== undefined) {
    headers["Content-Type"] = req.contentType ?? "application/json";
    headers["Content-Length"] = String(payload.length);
  }
  const options = { method: req.method, headers, agent: false as const, timeout: timeoutMs };
  return new Promise((resolve) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          contentType: (res.headers["content-type"] ?? "").split(";")[0]!.trim(),
          warning: res.headers.warning !== undefined,
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
      res.on("error", () => {
        resolve({ status: 0, contentType: "", warning: false, text: "the response broke off" });
      });
    };
    const tls = target.caFile !== undefined ? { ca: readFileSync(target.caFile) } : { rejectUnauthorized: false };
    const client = url.protocol === "https:" ? httpsRequest(url, { ...options, ...tls }, onResponse) : httpRequest(url, options, onResponse);
    client.on("timeout", () => {
      client.destroy(new Error("timeout"));
    });
    client.on("error", (err) => {
      resolve({ status: 0, contentType: "", warning: false, text: `no answer: ${err.message}` });
    });
    client.end(payload);
  });
}

/**
 * The compared form of an answer. Kept: status code, content type, whether a Warning header came, kind and
 * apiVersion, a Status's reason and the field names of its causes, for Tables their columns, what their rows carry
 * and whether they have a resourceVersion, and for objects a subset of their content.
 * Dropped (they differ between any two servers or runs, or are wording): Status messages and cause messages,
 * uid, resourceVersion, creationTimestamp (also pod templates' `creationTimestamp: null`), deletionTimestamp (kept as
 * `deleting`), conditions' lastTransitionTime (kept as "<time>"), managedFields times and the order of their entries, a generated name's
 * random suffix, list continue tokens (only their presence is kept), YAML bodies (only their content type), a
 * TokenRequest's token and expiration time (only their presence is kept).
 * With `exactStatus`, a Status's message and details are kept word for word.
 */
export type Answer = Record<string, unknown>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parse(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export interface NormalizeOptions {
  /** Keep a Status's message and details as they are. */
  exactStatus?: boolean;
}

export function normalize(raw: RawAnswer, options: NormalizeOptions = {}): Answer {
  const answer: Answer = { httpStatus: raw.status, contentType: raw.contentType };
  if (raw.warning) answer.warning = true;
  if (raw.status === 0) return { ...answer, noAnswer: true };
  if (raw.text === "") return answer;
  if (raw.contentType === "application/json" && raw.text.includes("\n{")) {
    // A watch stream: newline-delimited events.
    const events = raw.text.split("\n").filter((l) => l.trim() !== "").map((l) => parse(l));
    return { ...answer, events: events.map((e) => (isObject(e) && isObject(e.object) ? { type: e.type ?? null, object: objectSubset(e.object) } : { unparsed: true })) };
  }
  const body = parse(raw.text);
  if (raw.contentType !== "application/json" || !isObject(body)) return { ...answer, body: body === undefined ? "<not JSON>" : typeof body };
  if (raw.status === 200 && body.type !== undefined && isObject(body.object)) {
    // A watch stream of one event.
    return { ...answer, events: [{ type: body.type, object: objectSubset(body.object) }] };
  }
  const subset = objectSubset(body);
  if (options.exactStatus === true && body.kind === "Status") {
    subset.message = body.message ?? null;
    subset.details = body.details ?? null;
  }
  return { ...answer, ...subset };
}

function objectSubset(body: Record<string, Json>): Answer {
  const kind = body.kind;
  const out: Answer = { kind: kind ?? null, apiVersion: body.apiVersion ?? null };
  if (kind === "Status") {
    out.statusReason = body.reason ?? "";
    out.code = body.code ?? null;
    const details = isObject(body.details) ? body.details : {};
    if (details.kind !== undefined) out.detailsKind = details.kind;
    const causes = Array.isArray(details.causes) ? details.causes : [];
    if (causes.length > 0) out.causeFields = [...new Set(causes.map((c) => (isObject(c) && typeof c.field === "string" ? c.field : "")))].sort();
    return out;
  }
  if (kind === "Table") {
    out.columns = Array.isArray(body.columnDefinitions) ? body.columnDefinitions.map((c) => (isObject(c) ? c.name ?? null : null)) : null;
    out.rows = Array.isArray(body.rows) ? body.rows.length : null;
    // What each row carries per includeObject (a kind and apiVersion, or null), and whether the Table has a resourceVersion.
    out.rowObjects = Array.isArray(body.rows) ? body.rows.map(rowObjectOf) : null;
    out.resourceVersion = isObject(body.metadata) && typeof body.metadata.resourceVersion === "string" && body.metadata.resourceVersion !== "";
    return out;
  }
  if (Array.isArray(body.items)) {
    const meta = isObject(body.metadata) ? body.metadata : {};
    out.continued = typeof meta.continue === "string" && meta.continue !== "";
    out.items = body.items.map((item) => (isObject(item) && isObject(item.metadata) ? itemName(item.metadata) : null)).sort();
    return out;
  }
  if (isObject(body.metadata)) out.metadata = metadataSubset(body.metadata);
  for (const [key, value] of Object.entries(body)) {
    if (key === "kind" || key === "apiVersion" || key === "metadata") continue;
    out[key] = withoutTimestamps(value);
  }
  if (kind === "TokenRequest" && isObject(body.status)) {
    // A signed token and its expiry differ on every request: keep which of them came, and as what.
    out.status = Object.fromEntries(Object.entries(body.status).map(([key, value]) => [key, typeof value === "string" && value !== "" ? "<set>" : value]));
  }
  return out;
}

/**
 * What a Table row carries: `apiVersion/kind` of its object (with " +managedFields" when its metadata has them), null
 * (includeObject=None), or "absent".
 */
function rowObjectOf(row: Json): Json {
  if (!isObject(row)) return null;
  const object = row.object;
  if (object === undefined) return "absent";
  if (!isObject(object)) return object;
  const managed = isObject(object.metadata) && Array.isArray(object.metadata.managedFields) ? " +managedFields" : "";
  return `${typeof object.apiVersion === "string" ? object.apiVersion : "?"}/${typeof object.kind === "string" ? object.kind : "?"}${managed}`;
}

function itemName(meta: Record<string, Json>): string {
  const ns = typeof meta.namespace === "string" ? `${meta.namespace}/` : "";
  return ns + (typeof meta.generateName === "string" && meta.generateName !== "" ? `${meta.generateName}<generated>` : (typeof meta.name === "string" ? meta.name : ""));
}

function metadataSubset(meta: Record<string, Json>): Answer {
  const out: Answer = { name: itemName(meta).replace(/^[^/]*\//, "") };
  for (const key of ["namespace", "generateName", "labels", "annotations", "finalizers", "ownerReferences"]) {
    if (meta[key] !== undefined) out[key] = meta[key];
  }
  if (meta.deletionTimestamp !== undefined) out.deleting = true;
  if (Array.isArray(meta.managedFields)) {
    out.managedFields = meta.managedFields
      .map((m) => (isObject(m) ? { manager: m.manager ?? null, operation: m.operation ?? null, subresource: m.subresource ?? null, fieldsV1: m.fieldsV1 ?? null } : null))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

/**
 * Drops `creationTimestamp` wherever it is (Kubernetes writes `creationTimestamp: null` in pod templates); a
 * condition's `lastTransitionTime` becomes "<time>" when set (the time differs, its presence does not).
 */
function withoutTimestamps(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutTimestamps);
  if (!isObject(value)) return value;
  const out: Record<string, Json> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "creationTimestamp") continue;
    out[key] = key === "lastTransitionTime" && typeof inner === "string" && inner !== "" ? "<time>" : withoutTimestamps(inner);
  }
  return out;
}
