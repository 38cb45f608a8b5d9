/** Event name → listener signature. */
export type EventMap = { [event: string]: (...args: never[]) => void };

/**
 * A minimal typed event emitter (no Node `events` in the browser / mini-program bundle).
 * A throwing listener must not break the client's state machine or starve the other listeners, so its
 * error is rethrown asynchronously where the host reports it (console, error tracker, test runner).
 */
export class Emitter<Events extends EventMap> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
