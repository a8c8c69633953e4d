import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CriError, isNotFound, notFound, toCriError } from "./errors.js";

describe("toCriError", () => {
  it("keeps a gRPC error's code and details", () => {
    const serviceError = Object.assign(new Error("5 NOT_FOUND: container \"x\" not found"), { code: status.NOT_FOUND, details: 'container "x" not found', metadata: new Metadata() });
    const err = toCriError(serviceError);
    expect(err).toBeInstanceOf(CriError);
    expect(err.codeName).toBe("NOT_FOUND");
    expect(err.message).toBe('container "x" not found');
    expect(isNotFound(err)).toBe(true);
  });

  it("makes anything else UNKNOWN and leaves CriErrors alone", () => {
    expect(toCriError(new Error("boom")).codeName).toBe("UNKNOWN");
    expect(toCriError(Object.assign(new Error("odd"), { code: 99 })).codeName).toBe("UNKNOWN");
    expect(toCriError("text").message).toBe("text");
    const original = notFound("gone");
    expect(toCriError(original)).toBe(original);
  });
});
