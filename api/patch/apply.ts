// The one entry the apiserver's PATCH handler calls: picks the patch engine from the request's Content-Type.
import { yaml } from "../yaml.js";
import { badRequest, errorMessage, StatusError } from "../errors.js";
import { isRecord } from "../meta.js";
import { applyJsonPatch } from "./json-patch.js";
import { applyMergePatch } from "./merge-patch.js";
import { applyStrategicMergePatch } from "./strategic-merge-patch.js";

/** The patch media types, in the order Kubernetes lists them in its 415 message. */
export const PATCH_CONTENT_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
] as const;

export type PatchContentType = (typeof PATCH_CONTENT_TYPES)[number];

/** The patch type named by a Content-Type header (parameters such as `; charset=utf-8` ignored), if supported. */
export function patchTypeOf(contentType: string): PatchContentType | undefined {
  const bare = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return PATCH_CONTENT_TYPES.find((t) => t === bare);
}

/**
 * Applies `patch` to `original` by the rules of `contentType` and returns a new value; neither input changes.
 * `patch` is the decoded body, or its raw text/bytes (JSON, or YAML for apply-patch+yaml).
 *
 * - json-patch: RFC 6902. 400 for a body that is not a list of operations, 422 when an operation does not apply.
 * - merge-patch: RFC 7386. The body must be an object (400), since the result must stay an object.
 * - strategic-merge-patch: see strategic-merge-patch.ts.
 * - apply-patch+yaml: the apiserver's store applies these itself, with field ownership and conflicts
 *   (api/managed-fields). Here, for views that are not objects of their own (a Scale), the applied configuration
 *   is merged with strategic merge semantics, keys in the patch winning. An absent `original` counts as `{}`.
 *
 * An unsupported Content-Type is 415 UnsupportedMediaType with Kubernetes' message.
 */
export function applyPatch(contentType: string, original: unknown, patch: unknown): unknown {
  const type = patchTypeOf(contentType);
  if (type === undefined) {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(", ")}`,
    );
  }
  const body = decodeBody(type, patch);
  switch (type) {
    case "application/json-patch+json":
      return applyJsonPatch(original, body);
    case "application/merge-patch+json":
      if (!isRecord(body)) throw badRequest("Invalid JSON Patch");
      return applyMergePatch(original, body);
    case "application/strategic-merge-patch+json":
    case "application/apply-patch+yaml":
      return applyStrategicMergePatch(original, body);
  }
}

function decodeBody(type: PatchContentType, patch: unknown): unknown {
  let text: string;
  if (typeof patch === "string") text = patch;
  else if (patch instanceof Uint8Array) text = new TextDecoder().decode(patch);
  else return patch;
  try {
    return type === "application/apply-patch+yaml" ? (yaml().parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw badRequest(`error decoding patch: ${errorMessage(err)}`);
  }
}
