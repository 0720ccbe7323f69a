/**
 * The one hook views use to read a service: subscribes to its STATE_CHANGED event on mount, unsubscribes on
 * unmount, and re-renders with the service's current state (React's useSyncExternalStore).
 */
import { useCallback, useSyncExternalStore } from 'react';
import type { Subscription } from '../services/pubsub';

export interface StatefulService<S> {
  EVENTS: { STATE_CHANGED: string };
  getState: () => S;
  subscribe: (event: string, cb: () => void) => Subscription;
}

export function useServiceState<S>(service: StatefulService<S>): S {
  const subscribe = useCallback(
    (cb: () => void) => {
      const sub = service.subscribe(service.EVENTS.STATE_CHANGED, cb);
      return () => sub.unsubscribe();
    },
    [service],
  );
  return useSyncExternalStore(subscribe, service.getState);
}
