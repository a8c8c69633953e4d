// grpc probes (Kubernetes' pkg/probe/grpc): connect within the timeout (waiting for the channel to be ready, as
// Go's blocking dial does, so a refused port reads as a connect timeout), then grpc.health.v1.Health/Check with
// the optional service name; SERVING is success, any other status or RPC error a failure. The deadline is gRPC's
// own (wall time), not the injected clock.
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { healthCheckMethod, type HealthCheckResponse } from "./grpc-health.js";
import { rpcErrorText } from "../../../client/cri/errors.js";
import { goDuration, goQuote, joinHostPort, PROBE_USER_AGENT, type ProbeOutcome } from "./outcome.js";

export async function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const addr = joinHostPort(host, port);
  const deadline = Date.now() + timeoutMs;
  const client = new Client(addr, credentials.createInsecure(), {
    "grpc.primary_user_agent": PROBE_USER_AGENT,
    "grpc.enable_retries": 0,
  });
  try {
    const connectError = await new Promise<Error | undefined>((resolve) => {
      client.waitForReady(deadline, (err) => {
        resolve(err);
      });
    });
    if (connectError !== undefined) {
      return { result: "Failure", output: `timeout: failed to connect service ${goQuote(addr)} within ${goDuration(timeoutMs)}: context deadline exceeded` };
    }
    const outcome = await new Promise<{ err: ServiceError | null; response: HealthCheckResponse | undefined }>((resolve) => {
      client.makeUnaryRequest(
        healthCheckMethod.path,
        healthCheckMethod.requestSerialize,
        healthCheckMethod.responseDeserialize,
        { service },
        new Metadata(),
        { deadline },
        (err: ServiceError | null, response?: HealthCheckResponse) => {
          resolve({ err, response });
        },
      );
    });
    if (outcome.err) {
      const { code, details } = outcome.err;
      if (code === GrpcStatus.UNIMPLEMENTED) {
        return { result: "Failure", output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${details}` };
      }
      if (code === GrpcStatus.DEADLINE_EXCEEDED) return { result: "Failure", output: `timeout: health rpc did not complete within ${goDuration(timeoutMs)}` };
      return { result: "Failure", output: `error: health rpc probe failed: ${rpcErrorText(code, details)}` };
    }
    const servingStatus = outcome.response?.status ?? "UNKNOWN";
    if (servingStatus !== "SERVING") return { result: "Failure", output: `service unhealthy (responded with ${goQuote(servingStatus)})` };
    return { result: "Success", output: "service healthy" };
  } finally {
    client.close();
  }
}
