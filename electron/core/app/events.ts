/** A typed event bus for VisionApi events, shared by IPC and WebSocket transports. */
import type { EventName, EventPayload } from '../../../shared/api.js';

export type EventListener = (event: EventName, payload: unknown) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners) {
      try {
        listener(event, payload);
      } catch (error) {
        // A broken subscriber (closed window, dead socket) must not stop the others.
        console.error(`event listener failed on ${event}:`, error);
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
