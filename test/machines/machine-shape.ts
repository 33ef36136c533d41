import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * What a machine is, read straight from its state nodes (not through the diagram code under test):
 * its states with their kind, initial child, tags and entry/exit actions, and every transition with
 * its event (`''` for eventless), source, targets, guard and actions. Two machines with equal shapes
 * draw and behave alike as far as Stately Studio can tell.
 */

export interface StateShape {
  id: string;
  key: string;
  type: string;
  initial?: string;
  tags: string[];
  entry: string[];
  exit: string[];
}

export interface TransitionShape {
  source: string;
  event: string;
  targets: string[];
  guard?: string;
  actions: string[];
  reenter: boolean;
}

export interface MachineShape {
  states: StateShape[];
  transitions: TransitionShape[];
}

const named = (x: unknown): string => (typeof x === 'string' ? x : typeof (x as { type?: unknown })?.type === 'string' ? ((x as { type: string }).type) : '<function>');

export function machineShape(machine: AnyStateMachine): MachineShape {
  const states: StateShape[] = [];
  const transitions: TransitionShape[] = [];
  const walk = (node: AnyStateNode) => {
    const initial = node.initial?.target?.map((t: AnyStateNode) => t.id).join(',');
    states.push({ id: node.id, key: node.key, type: node.type, ...(initial ? { initial } : {}), tags: [...node.tags].sort(), entry: node.entry.map(named), exit: node.exit.map(named) });
    const add = (event: string, t: any) =>
      transitions.push({
        source: node.id,
        event,
        targets: (t.target ?? []).map((n: AnyStateNode) => n.id),
        ...(t.guard !== undefined ? { guard: named(t.guard) } : {}),
        actions: t.actions.map(named),
        reenter: t.reenter,
      });
    for (const [event, list] of node.transitions) for (const t of list) add(event, t);
    for (const t of node.always ?? []) add('', t);
    for (const child of Object.values(node.states)) walk(child as AnyStateNode);
  };
  walk(machine.root);
  return { states, transitions };
}
