// exec probes (Kubernetes' pkg/probe/exec over the CRI's ExecSync): exit code 0 is success, any other a failure
// whose output (stdout then stderr) the event quotes. A command still running after timeoutSeconds fails with
// `command "…" timed out`, whether the runtime reports DEADLINE_EXCEEDED or the probe stops waiting first (the
// ExecSync call is then left to finish on its own). Other runtime errors cannot tell success from failure: they
// throw ProbeError (rpc error: code = … desc = …).
import type { EnvVar } from "../../../api/types/index.js";
import { isCriError, rpcErrorText, toCriError, GrpcStatus } from "../../../client/cri/errors.js";
import type * as cri from "../../../client/cri/types.js";
import type { Clock } from "../../../component-base/clock.js";
import { goQuote, ProbeError, type ProbeOutcome } from "./outcome.js";

export interface ExecRuntime {
  execSync(containerId: string, cmd: readonly string[], timeoutSeconds: number): Promise<cri.ExecSyncResponse>;
}

export async function execProbe(runtime: ExecRuntime, containerId: string, cmd: readonly string[], timeoutSeconds: number, clock: Clock): Promise<ProbeOutcome> {
  const timedOut: ProbeOutcome = { result: "Failure", output: `command ${goQuote(cmd.join(" "))} timed out` };
  let timer: { cancel(): void } | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = clock.setTimeout(() => {
      resolve("expired");
    }, timeoutSeconds * 1000);
  });
  const call = runtime.execSync(containerId, cmd, timeoutSeconds);
  try {
    const answer = await Promise.race([call, expired]);
    if (answer === "expired") {
      call.catch(() => undefined);
      return timedOut;
    }
    const output = Buffer.concat([answer.stdout, answer.stderr]).toString("utf8");
    return { result: answer.exitCode === 0 ? "Success" : "Failure", output };
  } catch (err) {
    if (isCriError(err, GrpcStatus.DEADLINE_EXCEEDED)) return timedOut;
    const criError = toCriError(err);
    throw new ProbeError(rpcErrorText(criError.code, criError.message), { cause: err });
  } finally {
    timer?.cancel();
  }
}

/**
 * The probe's command with $(VAR) references to the container's literal env values expanded (values from
 * valueFrom are not known here, as in Kubernetes); $$ is a literal $, unknown references stay as written.
 */
export function expandCommand(command: readonly string[], env: readonly EnvVar[] | undefined): string[] {
  const values = new Map<string, string>();
  for (const e of env ?? []) if (e.valueFrom === undefined) values.set(e.name, e.value ?? "");
  return command.map((arg) =>
    arg.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
      if (match === "$$") return "$";
      return name !== undefined && values.has(name) ? (values.get(name) ?? "") : match;
    }),
  );
}
