import type { Logger } from 'pino';
import type { CommittedTransition, FlowHost } from './flow-host';

/**
 * Streams every committed transition to the Stately inspector over WebSocket (`STATELY_INSPECT_URL`):
 * each flow appears as an actor with its machine definition, then its events and snapshots. Flows run
 * through the pure `transition()`, so the host reports them itself instead of an actor's `inspect` hook.
 * Off unless configured; it only observes (a lost inspector connection never touches a flow).
 */
export async function startLiveInspection(host: FlowHost, url: string, log: Logger): Promise<{ stop(): void }> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url, maxDeferredEvents: 1000 });
  const announced = new Set<string>();
  host.onTransition((t: CommittedTransition) => {
    const snapshot = { status: t.flow.snapshot.status as any, value: t.flow.snapshot.value, context: t.flow.snapshot.context };
    if (!announced.has(t.flowId)) {
      announced.add(t.flowId);
      // The inspector reads the machine config from `logic.config` of the actor it is given.
      const actorLike = { sessionId: t.flowId, id: t.flowId, logic: t.definition.machine } as any;
      inspector.actor(actorLike, snapshot);
    }
    inspector.event(t.flowId, t.event as any);
    inspector.snapshot(t.flowId, snapshot, { event: t.event as any });
  });
  log.info({ url }, 'live inspection: streaming flows to the Stately inspector');
  return { stop: () => inspector.stop() };
}
