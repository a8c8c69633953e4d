import { describe, expect, it } from "vitest";
import { Diagnosis, fitErrorMessage } from "./fit-error.js";
import { Status } from "./interface.js";

function diagnosis(...statuses: Status[]): Diagnosis {
  const d = new Diagnosis();
  for (const s of statuses) d.addNodeStatus(s);
  return d;
}

describe("fitErrorMessage", () => {
  it("counts nodes per reason and sorts the parts as strings", () => {
    const d = diagnosis(
      Status.unresolvable("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
      Status.unschedulable("Insufficient cpu"),
      Status.unresolvable("node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
    );
    expect(fitErrorMessage(3, d)).toBe("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.");
  });

  it("counts every reason a node gives", () => {
    const d = diagnosis(Status.unschedulable("Insufficient cpu", "Insufficient memory"), Status.unschedulable("Insufficient cpu"));
    expect(fitErrorMessage(2, d)).toBe("0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.");
  });

  it("sorts like Go's sort.Strings, so 10 comes before 9", () => {
    const d = new Diagnosis();
    d.reasons.set("Insufficient cpu", 10);
    d.reasons.set("node(s) were unschedulable", 9);
    expect(fitErrorMessage(19, d)).toBe("0/19 nodes are available: 10 Insufficient cpu, 9 node(s) were unschedulable.");
  });

  it("uses the PreFilter message when PreFilter rejected the pod", () => {
    const d = new Diagnosis();
    d.preFilterMsg = "pod has unbound immediate PersistentVolumeClaims";
    expect(fitErrorMessage(3, d)).toBe("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
  });

  it("says so when there are no nodes at all", () => {
    expect(fitErrorMessage(0, new Diagnosis())).toBe("no nodes available to schedule pods");
  });
});
