// The owner of every process and throw-away directory the test helpers start in this test worker: a test that
// fails before its own clean-up still leaves nothing behind (the worker's exit, SIGINT or SIGTERM tears it down).
import { ProcessOwner, teardownOnSignals } from "../../lab/process/owner.js";

export const testProcesses = new ProcessOwner();
teardownOnSignals();
