// kubelab-ui's command line. The client flags are the other components' (--master, --kubeconfig, --kube-api-qps,
// --kube-api-burst); --address/--port say where the page is served, --lab-home which lab's supervisor to ask for
// its components (and to kill/stop/start them).
import { defineFlags, loggingFlags } from "../component-base/flags.js";

/** The page's default port (`kubelab up --ui-port` picks another when it is taken). */
export const DEFAULT_UI_PORT = 8484;

export const liveViewFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)." },
  kubeconfig: { type: "string", help: "Path to a kubeconfig file with the apiserver's address." },
  address: { type: "string", default: "127.0.0.1", help: "The address to serve the page on (keep it on loopback: the page can delete pods)." },
  port: { type: "number", default: DEFAULT_UI_PORT, help: "The port to serve the page, its WebSocket, /healthz, /readyz and /metrics on (0 picks a free one)." },
  labHome: { type: "string", help: "The lab's home directory: its supervisor's control socket there gives the components' state and the kill/stop/start actions (unset: cluster only)." },
  labPollPeriod: { type: "duration", default: "1s", help: "How often the lab's components are asked for." },
  samplePeriod: { type: "duration", default: "2s", help: "How often the charts get a point (the apiserver's /metrics is read then)." },
  kubeApiQps: { type: "number", default: 20, help: "QPS to use while talking with the apiserver (<= 0: unlimited)." },
  kubeApiBurst: { type: "number", default: 40, help: "Burst to use while talking with the apiserver." },
  ...loggingFlags,
});
