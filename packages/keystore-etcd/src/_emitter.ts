/**
 * A tiny typed event emitter. Listeners that throw are ignored: metrics and logging must never break the
 * key store, the registration or the election.
 *
 * @module
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(e: never) => void>>();

  /** Subscribes; returns unsubscribe. */
  on<E extends keyof Events>(event: E, listener: (e: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (e: never) => void);
    return () => {
      set.delete(listener as (e: never) => void);
    };
  }

  protected emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as (e: Events[E]) => void)(payload);
      } catch {
        // see module comment
      }
    }
  }
}
