import assert from 'node:assert/strict';
import { type AnyStateMachine, type EventObject, transition } from 'xstate';
import { getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import { stateName } from '../../persistence/flow-definition';
import type { Service } from '../../server/service';

/**
 * Model-based testing: paths generated from a machine with xstate/graph are played against the real
 * service. Each event type maps to its real stimulus (an HTTP call, a chain action plus a poller tick,
 * a timer made due, a fake-Alpaca behaviour, the outbox runner doing its work); after each step the
 * stored flow, its journal and its outbox are checked against the path. A path with an event type
 * that has no stimulus, or a state with no assertion, fails before it runs.
 */

export type AnyPath = StatePath<any, EventObject>;

export interface PathRun<C> {
  path: AnyPath;
  /** Index of the step being played. */
  index: number;
  ctx: C;
}

export interface ModelSpec<C> {
  name: string;
  machine: AnyStateMachine;
  input: unknown;
  /** Event templates the traversal may use (payload values only matter to guards). */
  events: EventObject[];
  /** Makes a fresh context for one path (ids, a new flow). */
  newContext(path: AnyPath): Promise<C>;
  flowId(ctx: C): string;
  /** One real stimulus per event type; `xstate.init` creates the flow. */
  stimuli: Record<string, (run: PathRun<C>) => Promise<void>>;
  /** One assertion per state name (dotted), run after every step that lands there. */
  states: Record<string, (run: PathRun<C>) => Promise<void>>;
  /** Effects the host should have pending in each state (checked against the outbox). */
  pendingEffects(state: string): string[];
  service(): Service;
}

export const serializeByState = (s: { value: unknown }) => stateName(s.value);

const transitionKey = (from: string, event: string, to: string) => `${from} --${event}--> ${to}`;

/** Every transition the machine can take from a reachable state with the given events. */
export function machineTransitions(spec: ModelSpec<unknown>, shortest: AnyPath[]): Map<string, { path: AnyPath; event: EventObject }> {
  const out = new Map<string, { path: AnyPath; event: EventObject }>();
  for (const path of shortest) {
    const snapshot = path.state as any;
    if (snapshot.status !== 'active') continue;
    for (const event of spec.events) {
      if (!snapshot.can(event)) continue;
      const [next] = transition(spec.machine, snapshot, event as any);
      out.set(transitionKey(stateName(snapshot.value), event.type, stateName((next as any).value)), { path, event });
    }
  }
  return out;
}

/**
 * Shortest paths to every state, bounded simple paths, and for each transition neither covers (a retry
 * back into a state already visited), the shortest path to its source, that transition, and the
 * shortest way on to a final state.
 */
export function generatePaths(spec: ModelSpec<unknown>): { shortest: AnyPath[]; simple: AnyPath[]; retries: AnyPath[]; all: AnyPath[] } {
  const options = { input: spec.input, events: spec.events, serializeState: serializeByState } as any;
  const shortest = getShortestPaths(spec.machine, options) as AnyPath[];
  const simple = getSimplePaths(spec.machine, options) as AnyPath[];
  const key = (p: AnyPath) => p.steps.map((s) => `${s.event.type}>${stateName((s.state as any).value)}`).join('|');
  const seen = new Set(shortest.map(key));
  // Bounded: all simple paths with MODEL_ALL_PATHS=1; otherwise only those that take a transition no
  // path chosen so far takes (shortest first), which keeps every transition while the suite stays short.
  let extra = simple.filter((p) => !seen.has(key(p)));
  if (!process.env.MODEL_ALL_PATHS) {
    const taken = transitionsOf(shortest);
    extra = extra
      .sort((a, b) => a.steps.length - b.steps.length)
      .filter((p) => {
        const adds = [...transitionsOf([p])].filter((t) => !taken.has(t));
        for (const t of adds) taken.add(t);
        return adds.length > 0;
      });
  }
  const covered = transitionsOf([...shortest, ...extra]);
  const retries: AnyPath[] = [];
  for (const [k, { path, event }] of machineTransitions(spec, shortest)) {
    if (covered.has(k)) continue;
    const [next] = transition(spec.machine, path.state as any, event as any);
    const onward = (getShortestPaths(spec.machine, { ...options, fromState: next, toState: (s: any) => s.status === 'done' }) as AnyPath[]).sort((a, b) => a.steps.length - b.steps.length)[0];
    const steps = [...path.steps, { event, state: next }, ...(onward ? onward.steps.slice(1) : [])];
    retries.push({ state: steps[steps.length - 1]!.state, steps, weight: steps.length } as AnyPath);
  }
  return { shortest, simple, retries, all: [...shortest, ...extra, ...retries] };
}

function transitionsOf(paths: AnyPath[]): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    let from = '';
    for (const step of p.steps) {
      const to = stateName((step.state as any).value);
      if (step.event.type !== 'xstate.init') out.add(transitionKey(from, step.event.type, to));
      from = to;
    }
  }
  return out;
}

export function coverage(spec: ModelSpec<unknown>, paths: AnyPath[], shortest: AnyPath[]) {
  const states = new Set<string>();
  for (const p of paths) for (const step of p.steps) states.add(stateName((step.state as any).value));
  const transitions = transitionsOf(paths);
  const allTransitions = [...machineTransitions(spec, shortest).keys()];
  return { states, transitions, allStates: allStateNames(spec.machine), allTransitions, uncoveredTransitions: allTransitions.filter((t) => !transitions.has(t)) };
}

/** Every leaf (atomic or final) state of the machine, in dotted form. */
export function allStateNames(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: any, prefix: string[]) => {
    const children = Object.values(node.states ?? {}) as any[];
    if (children.length === 0) {
      if (prefix.length) out.push(prefix.join('.'));
      return;
    }
    for (const child of children) walk(child, [...prefix, child.key]);
  };
  walk(machine.root, []);
  return out;
}

/** Refuses a path set with an event that has no stimulus or a state that has no assertion. */
export function assertComplete(spec: ModelSpec<unknown>, paths: AnyPath[]): void {
  const missingStimuli = new Set<string>();
  const missingStates = new Set<string>();
  for (const p of paths) {
    for (const step of p.steps) {
      if (!spec.stimuli[step.event.type]) missingStimuli.add(step.event.type);
      const s = stateName((step.state as any).value);
      if (!spec.states[s]) missingStates.add(s);
    }
  }
  assert.deepEqual([...missingStimuli], [], `${spec.name}: event types without a stimulus`);
  assert.deepEqual([...missingStates], [], `${spec.name}: states without an assertion`);
}

export function describePath(p: AnyPath): string {
  return p.steps.map((s) => (s.event.type === 'xstate.init' ? stateName((s.state as any).value) : `${s.event.type} → ${stateName((s.state as any).value)}`)).join(', ');
}

/** Plays one path against the service, checking state, journal and outbox after every step. */
export async function playPath<C>(spec: ModelSpec<C>, path: AnyPath): Promise<void> {
  const ctx = await spec.newContext(path);
  const svc = spec.service();
  const expectedJournal: string[] = [];
  for (let index = 0; index < path.steps.length; index++) {
    const step = path.steps[index]!;
    const run: PathRun<C> = { path, index, ctx };
    await spec.stimuli[step.event.type]!(run);
    expectedJournal.push(step.event.type === 'xstate.init' ? 'flow.started' : step.event.type);
    const expected = stateName((step.state as any).value);
    const flowId = spec.flowId(ctx);
    const flow = await svc.host.get(flowId);
    assert.ok(flow, `step ${index} (${step.event.type}): flow ${flowId} does not exist`);
    assert.equal(flow.state, expected, `step ${index} (${step.event.type}): stored state`);
    assert.equal(flow.status, (step.state as any).status, `step ${index}: stored status`);
    const journal = (await svc.db('journal').where({ flow_id: flowId }).orderBy('seq')).map((r: any) => r.type);
    assert.deepEqual(journal, expectedJournal, `step ${index} (${step.event.type}): journal`);
    const pending = (await svc.db('outbox').where({ flow_id: flowId, status: 'pending' })).map((r: any) => r.type).sort();
    assert.deepEqual(pending, [...spec.pendingEffects(expected)].sort(), `step ${index} (${step.event.type}): pending effects in ${expected}`);
    await spec.states[expected]!(run);
  }
}
