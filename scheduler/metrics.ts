// kube-scheduler's own metrics, with Kubernetes' names, labels and buckets.
import { counter, gauge, histogram, type Registry } from "../component-base/metrics.js";
import type { QueueEvent, QueueName } from "./scheduling-queue.js";

export type AttemptResult = "scheduled" | "unschedulable" | "error";

export interface SchedulerMetrics {
  /** One scheduling attempt ended (for "scheduled": when its binding succeeded). */
  attempt(result: AttemptResult, profile: string, seconds: number): void;
  /** A pod got bound `seconds` after its first attempt, after `attempts` attempts. */
  podScheduled(attempts: number, seconds: number): void;
  incomingPod(queue: QueueName, event: QueueEvent): void;
  /** One preemption attempt (a PostFilter run). */
  preemptionAttempt(): void;
  /** The victims a successful preemption chose. */
  preemptionVictims(count: number): void;
}

function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** Registers the metrics; `pending` is read at scrape time for scheduler_pending_pods. */
export function schedulerMetrics(registry: Registry, pending: () => Record<QueueName, number>): SchedulerMetrics {
  const attempts = counter(registry, {
    name: "scheduler_schedule_attempts_total",
    help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
    labelNames: ["result", "profile"],
  });
  const attemptDuration = histogram(registry, {
    name: "scheduler_scheduling_attempt_duration_seconds",
    help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
    labelNames: ["result", "profile"],
    buckets: exponential(0.001, 2, 15),
  });
  const podDuration = histogram(registry, {
    name: "scheduler_pod_scheduling_duration_seconds",
    help: "E2e latency for a pod being scheduled which may include multiple scheduling attempts.",
    labelNames: ["attempts"],
    buckets: exponential(0.01, 2, 20),
  });
  const podAttempts = histogram(registry, {
    name: "scheduler_pod_scheduling_attempts",
    help: "Number of attempts to successfully schedule a pod.",
    buckets: exponential(1, 2, 5),
  });
  const incoming = counter(registry, {
    name: "scheduler_queue_incoming_pods_total",
    help: "Number of pods added to scheduling queues by event and queue type.",
    labelNames: ["queue", "event"],
  });
  const preemptionAttempts = counter(registry, {
    name: "scheduler_preemption_attempts_total",
    help: "Total preemption attempts in the cluster till now",
  });
  const preemptionVictims = histogram(registry, {
    name: "scheduler_preemption_victims",
    help: "Number of selected preemption victims",
    buckets: exponential(1, 2, 7),
  });
  gauge(registry, {
    name: "scheduler_pending_pods",
    help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
    labelNames: ["queue"],
    collect() {
      for (const [queue, n] of Object.entries(pending())) this.set({ queue }, n);
    },
  });
  return {
    attempt(result, profile, seconds) {
      attempts.inc({ result, profile });
      attemptDuration.observe({ result, profile }, seconds);
    },
    podScheduled(n, seconds) {
      podDuration.observe({ attempts: n >= 15 ? "15+" : String(n) }, seconds);
      podAttempts.observe(n);
    },
    incomingPod(queue, event) {
      incoming.inc({ queue, event });
    },
    preemptionAttempt() {
      preemptionAttempts.inc();
    },
    preemptionVictims(count) {
      preemptionVictims.observe(count);
    },
  };
}
