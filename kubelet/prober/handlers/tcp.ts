// tcpSocket probes (Kubernetes' pkg/probe/tcp): success when a TCP connection opens within the timeout; the
// connection is closed at once, nothing is sent.
import { connect } from "node:net";
import type { Clock } from "../../../component-base/clock.js";
import { dialErrorText, joinHostPort, type ProbeOutcome } from "./outcome.js";

export function tcpProbe(host: string, port: number, timeoutMs: number, clock: Clock): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.destroy();
      resolve(outcome);
    };
    const socket = connect({ host, port });
    const timer = clock.setTimeout(() => {
      finish({ result: "Failure", output: `dial tcp ${joinHostPort(host, port)}: i/o timeout` });
    }, timeoutMs);
    socket.once("connect", () => {
      finish({ result: "Success", output: "" });
    });
    socket.once("error", (err) => {
      finish({ result: "Failure", output: dialErrorText(err, host, port) });
    });
  });
}
