/**
 * The publish/subscribe shape of OHIF's own services (`@ohif/core` PubSubService: `EVENTS`, `subscribe(event, cb)`
 * returning `{ unsubscribe }`, `_broadcastEvent(event, payload)`). A URL-loaded extension cannot import the host's
 * class, so the same small contract is implemented once here and our services extend it.
 */
export interface Subscription {
  unsubscribe: () => void;
}

export class PubSubService<Events extends Record<string, string> = Record<string, string>> {
  readonly EVENTS: Events;
  private listeners = new Map<string, Set<(payload: unknown) => void>>();

  constructor(events: Events) {
    this.EVENTS = events;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners narrow the payload themselves, as in OHIF
  subscribe(eventName: string, callback: (payload: any) => void): Subscription {
    if (!Object.values(this.EVENTS).includes(eventName)) throw new Error(`Event ${eventName} not supported.`);
    let set = this.listeners.get(eventName);
    if (!set) this.listeners.set(eventName, (set = new Set()));
    // A wrapper per subscription: the same function subscribed twice is two subscriptions, as in OHIF.
    const entry = (payload: unknown) => callback(payload);
    set.add(entry);
    return { unsubscribe: () => void set!.delete(entry) };
  }

  /** Number of live subscriptions (all events); for tests and leak checks. */
  listenerCount(): number {
    let n = 0;
    this.listeners.forEach((s) => (n += s.size));
    return n;
  }

  protected _broadcastEvent(eventName: string, payload?: unknown): void {
    // A listener that throws must not stop the others (nor the service's own work).
    for (const cb of [...(this.listeners.get(eventName) ?? [])]) {
      try {
        cb(payload);
      } catch (e) {
        console.error(`[ssclnet] listener of ${eventName} failed`, e);
      }
    }
  }
}

/**
 * OHIF's `REGISTRATION` of a service (`servicesManager.registerService(X.REGISTRATION, configuration)`):
 * `name` ("ssclnetModelService"), `altName` (the same, capitalised) and `create({ configuration })`.
 */
export function serviceRegistration<Configuration, Service>(
  name: string,
  create: (configuration: Configuration) => Service,
): { name: string; altName: string; create: (options: { configuration: Configuration }) => Service } {
  return {
    name,
    altName: name[0].toUpperCase() + name.slice(1),
    create: ({ configuration }) => create(configuration),
  };
}
