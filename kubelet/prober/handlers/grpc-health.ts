// grpc.health.v1.Health/Check, defined in code with protobufjs (no .proto file to ship): the probe's client uses
// it, and tests use the same definition to serve a health endpoint with @grpc/grpc-js.
import type { MethodDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";

export interface HealthCheckRequest {
  service: string;
}

/** status: UNKNOWN, SERVING, NOT_SERVING or SERVICE_UNKNOWN. */
export interface HealthCheckResponse {
  status: string;
}

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

const root = protobuf.Root.fromJSON({
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: "ServingStatus", id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
              },
            },
          },
        },
      },
    },
  },
});

const requestType = root.lookupType("grpc.health.v1.HealthCheckRequest");
const responseType = root.lookupType("grpc.health.v1.HealthCheckResponse");
const CONVERSION: protobuf.IConversionOptions = { enums: String, defaults: true };

function encoder(type: protobuf.Type): (value: object) => Buffer {
  return (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
}

export const healthCheckMethod: MethodDefinition<HealthCheckRequest, HealthCheckResponse> = {
  path: HEALTH_CHECK_PATH,
  requestStream: false,
  responseStream: false,
  originalName: "check",
  requestSerialize: encoder(requestType),
  requestDeserialize: (bytes) => {
    const object = requestType.toObject(requestType.decode(bytes), CONVERSION);
    return { service: typeof object.service === "string" ? object.service : "" };
  },
  responseSerialize: encoder(responseType),
  responseDeserialize: (bytes) => {
    const object = responseType.toObject(responseType.decode(bytes), CONVERSION);
    return { status: typeof object.status === "string" ? object.status : "UNKNOWN" };
  },
};
