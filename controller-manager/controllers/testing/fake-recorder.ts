// client-go's record.FakeRecorder: keeps every event in memory so tests assert on what a controller reported.
import type { KubeObject } from "../../../api/meta.js";
import type { EventRecorder, EventType, ObjectReference } from "../../../client/event-recorder.js";

export interface RecordedEvent {
  /** kind/namespace/name of the object the event is about. */
  object: { kind?: string; namespace?: string; name: string };
  type: EventType;
  reason: string;
  message: string;
}

export class FakeRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    const ref = "metadata" in object ? { kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name ?? "" } : { kind: object.kind, namespace: object.namespace, name: object.name };
    const about: RecordedEvent["object"] = { name: ref.name };
    if (ref.kind !== undefined) about.kind = ref.kind;
    if (ref.namespace !== undefined) about.namespace = ref.namespace;
    this.events.push({ object: about, type, reason, message });
  }

  /** Events as client-go's FakeRecorder prints them: "Normal SuccessfulCreate Created pod: web-abcde". */
  messages(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
  }

  /** Events with this reason. */
  withReason(reason: string): RecordedEvent[] {
    return this.events.filter((e) => e.reason === reason);
  }

  clear(): void {
    this.events.length = 0;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
