import { describe, expect, it } from "vitest";
import { StatusError } from "../../api/errors.js";
import { writeParams } from "./write-options.js";

function refusal(method: string, query: string): StatusError {
  try {
    writeParams(method, new URLSearchParams(query), "kubectl/v1.32.0 (linux/amd64)", method === "PATCH" ? "merge" : undefined);
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error(`${method} ?${query} was accepted`);
}

describe("writeParams", () => {
  it.each([
    ["POST", "CreateOptions"],
    ["PUT", "UpdateOptions"],
    ["PATCH", "PatchOptions"],
  ])("refuses an unknown fieldValidation on %s as 422 Invalid naming %s", (method, kind) => {
    const err = refusal(method, "fieldValidation=Garbage");
    expect(err.code).toBe(422);
    expect(err.message).toBe(`${kind}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Garbage": supported values: "", "Ignore", "Strict", "Warn"`);
    expect(err.details).toMatchObject({ kind, group: "meta.k8s.io", causes: [{ reason: "FieldValueNotSupported", field: "fieldValidation" }] });
  });

  it.each(["", "Ignore", "Warn", "Strict"])("accepts fieldValidation=%s", (value) => {
    expect(writeParams("POST", new URLSearchParams({ fieldValidation: value }), "kubectl/v1.32.0").fieldManager).toBe("kubectl");
  });

  it("leaves fieldValidation of a DELETE alone (DeleteOptions has none)", () => {
    expect(writeParams("DELETE", new URLSearchParams("fieldValidation=Garbage"), undefined).dryRun).toBe(false);
  });
});
