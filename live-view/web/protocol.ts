// What the live view's server pushes to the page over its WebSocket (/ws), and the rows it is made of. Shared by the
// server (Node) and the page (browser): types only, so it compiles under both. Each row is a summary the server
// computes from API objects; the page never sees the objects themselves.

export interface PodRow {
  namespace: string;
  name: string;
  /** spec.nodeName; "" while unscheduled. */
  node: string;
  phase: string;
  /** The Ready condition is True. */
  ready: boolean;
  readyContainers: number;
  containers: number;
  restarts: number;
  ip: string;
  /** The controlling owner as a user names it: a ReplicaSet's pods show their Deployment ("Deployment/web"). */
  owner: string;
  /** What a user would see in kubectl's STATUS column when it is not the phase (CrashLoopBackOff, Terminating, …). */
  reason: string;
  createdAt: string;
}

export interface NodeRow {
  name: string;
  /** The Ready condition's status: True, False or Unknown. */
  ready: string;
  unschedulable: boolean;
  ip: string;
  podCidr: string;
  kubeletVersion: string;
}

export interface DeploymentRow {
  namespace: string;
  name: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** The Progressing condition's reason (NewReplicaSetAvailable, ReplicaSetUpdated, ProgressDeadlineExceeded…). */
  progress: string;
  /** metadata.generation has been observed by the controller. */
  observed: boolean;
}

export interface ServiceRow {
  namespace: string;
  name: string;
  type: string;
  clusterIp: string;
  /** "80/TCP→8080", one per port. */
  ports: string[];
  /** Ready endpoint addresses, "ip" (with the pod's name when known). */
  ready: string[];
  notReady: string[];
}

export interface EventRow {
  namespace: string;
  /** Milliseconds since the epoch of the last occurrence. */
  time: number;
  type: string;
  reason: string;
  /** "Pod/web-5d8c7-abcde". */
  object: string;
  message: string;
  count: number;
  source: string;
}

export interface ComponentRow {
  name: string;
  component: string;
  node: string;
  state: string;
  restarts: number;
  health: string;
  pid: number;
  uptimeSeconds: number;
}

/** The collections of rows, each keyed by a stable key ("namespace/name", a node or component name, an event uid). */
export interface Rows {
  nodes: NodeRow;
  pods: PodRow;
  deployments: DeploymentRow;
  services: ServiceRow;
  events: EventRow;
  components: ComponentRow;
}
export type Collection = keyof Rows;
export const COLLECTIONS: readonly Collection[] = ["nodes", "pods", "deployments", "services", "events", "components"];

/** One changed row: `row` absent means the row is gone. */
export type Change = {
  [C in Collection]: {
    collection: C;
    key: string;
    row?: Rows[C];
    /** When the server learned of the change (ms since the epoch): the page measures its delay from here. */
    observedAt: number;
  };
}[Collection];

/** One point of the live charts, taken every few seconds. */
export interface Sample {
  /** Seconds since the epoch. */
  time: number;
  podsReady: number;
  pods: number;
  /** apiserver_request_total's rate over the last interval (requests/s); null before two scrapes. */
  apiRequestRate: number | null;
  /** The median delay from a new pod's first sighting to its Ready condition over the interval (ms); null if none. */
  podStartMs: number | null;
}

export interface LabInfo {
  /** Whether the server reaches a lab's supervisor (components and their actions exist). */
  connected: boolean;
  phase: string;
  home: string;
  apiserver: string;
  error: string;
}

export type ServerMessage =
  | { type: "snapshot"; rows: { [C in Collection]: Record<string, Rows[C]> }; samples: Sample[]; lab: LabInfo; sentAt: number }
  | { type: "changes"; changes: Change[]; sentAt: number }
  | { type: "sample"; sample: Sample }
  | { type: "lab"; lab: LabInfo };

/** The body of every action's answer (POST /api/...). */
export interface ActionReply {
  ok: boolean;
  error?: string;
  message?: string;
}

/** The header every action request carries; its absence (a plain form post from another site) is refused. */
export const ACTION_HEADER = "x-kubelab-ui";
