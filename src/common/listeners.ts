/**
 * Listeners of an event source, called for every event on a hot path (a DHCP packet's boot events)
 * without allocating per delivery: the source loops over `current`, a plain array that is replaced,
 * never changed, on subscribe and unsubscribe. So a subscribe or unsubscribe during a delivery takes
 * effect from the next event: the delivery under way goes on over the array it started with.
 * Subscribing a function that is already subscribed does nothing (as with a Set).
 */
export class Listeners<F extends (...args: never[]) => void> {
  private list: readonly F[] = [];

  /** The subscribed functions, in subscription order; loop over this array to deliver an event. */
  get current(): readonly F[] {
    return this.list;
  }

  /** Adds `fn`; returns the function that removes it. */
  add(fn: F): () => void {
    if (!this.list.includes(fn)) this.list = [...this.list, fn];
    return () => {
      if (this.list.includes(fn)) this.list = this.list.filter((f) => f !== fn);
    };
  }
}
