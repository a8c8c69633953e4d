// client-go's record.FakeRecorder: keeps every event in memory so tests assert on what a component reported.
import type { KubeObject } from "../../api/meta.js";
import type { EventRecorder, EventType, ObjectReference } from "../event-recorder.js";

export interface RecordedEvent {
  /** The object the event is about. */
  object: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
}

export class FakeRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    const ref: ObjectReference =
      "metadata" in object
        ? {
            name: object.metadata.name ?? "",
            ...(object.kind !== undefined ? { kind: object.kind } : {}),
            ...(object.metadata.namespace !== undefined ? { namespace: object.metadata.namespace } : {}),
            ...(object.metadata.uid !== undefined ? { uid: object.metadata.uid } : {}),
          }
        : { ...object };
    this.events.push({ object: ref, type, reason, message });
  }

  /** Events as client-go's FakeRecorder prints them: "Normal SuccessfulCreate Created pod: web-abcde". */
  messages(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
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
