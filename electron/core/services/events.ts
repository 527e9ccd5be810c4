/** A small typed event emitter: the manager's `on('state' | 'log' | …)`. */
import type { ServiceInfo, SetupStage } from '../../../shared/domain.js';

export interface ServiceEvents {
  state: ServiceInfo;
  log: { name: string; lines: string[] };
  setup: SetupStage;
  /** Something the UI should say in words, e.g. "restarted with 2 workers after running out of memory". */
  notice: { name: string; message: string };
  /** The supervisor lowered a service's workers; lanes on it should match. */
  workers: { name: string; workers: number; reason: string };
}

type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // A broken listener must not take the supervisor down.
        console.error(`services: ${String(event)} listener failed`, error);
      }
    }
  }

  removeAll(): void {
    this.listeners.clear();
  }
}
