// The operations of an /openapi/v2 document reduced to what the differential OpenAPI test compares and records: per
// group version, one line per path and method, `<method> <path under the group version> <x-kubernetes-action>
// <operationId>`. The whole document is megabytes; this summary is what clients act on (kubectl 1.20 finds a
// kind's operations by GVK, client generators by operationId), and small enough to keep as a fixture.
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isRecord } from "../../api/meta.js";
import { openApiV2DocumentType } from "../../apiserver/http/openapi-v2.js";
import type { Target } from "./answers.js";

export type PathSummary = Record<string, string[]>;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** `api/v1` or `apis/<group>/<version>` of a resource path; undefined for paths outside a group version. */
function groupVersionOf(path: string): { gv: string; rest: string } | undefined {
  const m = /^\/(api\/v1|apis\/[^/]+\/[^/]+)(\/.*)$/.exec(path);
  return m === null ? undefined : { gv: m[1]!, rest: m[2]! };
}

function add(summary: PathSummary, path: string, method: string, action: unknown, operationId: unknown): void {
  const where = groupVersionOf(path);
  if (where === undefined) return;
  (summary[where.gv] ??= []).push(`${method} ${where.rest} ${typeof action === "string" ? action : "-"} ${String(operationId)}`);
}

function sorted(summary: PathSummary): PathSummary {
  const out: PathSummary = {};
  for (const gv of Object.keys(summary).sort()) out[gv] = [...summary[gv]!].sort();
  return out;
}

/** The summary of a document in its JSON form. */
export function summarizeJson(document: unknown): PathSummary {
  const summary: PathSummary = {};
  const paths = isRecord(document) && isRecord(document.paths) ? document.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isRecord(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (isRecord(op)) add(summary, path, method, op["x-kubernetes-action"], op.operationId);
    }
  }
  return sorted(summary);
}

/** The summary of a document in gnostic's protobuf form (decoded with kubelab's subset of gnostic's schema). */
export function summarizeProtobuf(body: Buffer): PathSummary {
  const type = openApiV2DocumentType();
  const decoded: unknown = type.toObject(type.decode(body), { defaults: false });
  const summary: PathSummary = {};
  const paths = isRecord(decoded) && isRecord(decoded.paths) && Array.isArray(decoded.paths.path) ? decoded.paths.path : [];
  for (const named of paths) {
    if (!isRecord(named) || !isRecord(named.value)) continue;
    for (const method of METHODS) {
      const op = named.value[method];
      if (!isRecord(op)) continue;
      const extensions: unknown[] = Array.isArray(op.vendor_extension) ? (op.vendor_extension as unknown[]) : [];
      const action = extensions.find((e) => isRecord(e) && e.name === "x-kubernetes-action");
      // gnostic carries extension values as YAML; the action is a plain scalar.
      const yaml = isRecord(action) && isRecord(action.value) && typeof action.value.yaml === "string" ? action.value.yaml.trim().replace(/^"(.*)"$/, "$1") : undefined;
      add(summary, String(named.name), method, yaml, op.operation_id);
    }
  }
  return sorted(summary);
}

export interface Fetched {
  status: number;
  contentType: string;
  body: Buffer;
}

/** GET `path` with `accept`, the reply's bytes as they came (the real apiserver's self-signed certificate unchecked). */
export function fetchBytes(target: Target, path: string, accept: string): Promise<Fetched> {
  const url = new URL(path, target.url);
  const headers: Record<string, string> = { Accept: accept };
  if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    };
    const tls = target.caFile !== undefined ? { ca: readFileSync(target.caFile) } : { rejectUnauthorized: false };
    const req = url.protocol === "https:" ? httpsRequest(url, { headers, ...tls }, onResponse) : httpRequest(url, { headers }, onResponse);
    req.on("error", reject);
    req.end();
  });
}
