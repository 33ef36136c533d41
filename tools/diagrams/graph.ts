import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';
import { NEEDS_OPERATOR_TAG } from '../../persistence/flow-definition';
import { guardName } from '../../runtime/studio/names';

/**
 * One machine as the diagram renderers see it: a tree of states and a flat, ordered list of edges.
 * Both renderers (DOT, Mermaid) draw from this, so they always agree on what the machine is.
 */

export interface DiagramState {
  /** The state node id (`mint.minting.submitting`): stable, and what the host stores. */
  id: string;
  /** The name in its parent (`submitting`), used as the label. */
  key: string;
  kind: 'atomic' | 'compound' | 'final';
  needsOperator: boolean;
  tags: string[];
  /** Id of the child entered first, for compound states and the root. */
  initial?: string;
  children: DiagramState[];
}

export interface DiagramEdge {
  source: string;
  target: string;
  /** The event name; `always` for an eventless transition, taken as soon as its guard holds. */
  event: string;
  guard?: string;
}

export interface MachineDiagram {
  id: string;
  root: DiagramState;
  edges: DiagramEdge[];
}

export const ALWAYS = 'always';

export function machineDiagram(machine: AnyStateMachine): MachineDiagram {
  const graph = toDirectedGraph(machine);
  const order = new Map<string, number>();
  const root = stateOf(graph, order);
  const edges: Array<DiagramEdge & { rank: [number, number, string, number] }> = [];
  collectEdges(graph, order, edges);
  // Sorted by source (in the order the machine declares its states), then eventful before eventless,
  // then event name; transitions sharing a source and event keep their declared order (their priority).
  edges.sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || cmp(a.rank[2], b.rank[2]) || a.rank[3] - b.rank[3]);
  return { id: machine.id, root, edges: edges.map(({ rank: _rank, ...edge }) => edge) };
}

/** Every state below the root, depth first in declaration order. */
export function allStates(diagram: MachineDiagram): DiagramState[] {
  const out: DiagramState[] = [];
  const walk = (s: DiagramState) => s.children.forEach((c) => (out.push(c), walk(c)));
  walk(diagram.root);
  return out;
}

function stateOf(node: DirectedGraphNode, order: Map<string, number>): DiagramState {
  const sn: AnyStateNode = node.stateNode;
  order.set(sn.id, order.size);
  const children = node.children.map((c) => stateOf(c, order));
  const tags = [...sn.tags].sort();
  return {
    id: sn.id,
    key: sn.key,
    kind: sn.type === 'final' ? 'final' : children.length ? 'compound' : 'atomic',
    needsOperator: tags.includes(NEEDS_OPERATOR_TAG),
    tags,
    initial: children.length ? initialChild(sn) : undefined,
    children,
  };
}

function initialChild(sn: AnyStateNode): string | undefined {
  return sn.initial?.target?.[0]?.id;
}

function collectEdges(node: DirectedGraphNode, order: Map<string, number>, out: Array<DiagramEdge & { rank: [number, number, string, number] }>): void {
  const sourceRank = order.get(node.stateNode.id)!;
  node.edges.forEach((edge, i) => {
    out.push({ ...edgeOf(edge.transition, edge.source.id, edge.target.id), rank: [sourceRank, 0, edge.label.text, i] });
  });
  // toDirectedGraph lists only evented transitions; eventless (`always`) ones are read from the node.
  (node.stateNode.always ?? []).forEach((t: AnyTransitionDefinition, i: number) => {
    for (const target of t.target ?? [node.stateNode]) out.push({ ...edgeOf(t, node.stateNode.id, target.id, ALWAYS), rank: [sourceRank, 1, ALWAYS, i] });
  });
  node.children.forEach((c) => collectEdges(c, order, out));
}

function edgeOf(t: AnyTransitionDefinition, source: string, target: string, event: string = t.eventType): DiagramEdge {
  const guard = guardName(t.guard);
  return guard === undefined ? { source, target, event } : { source, target, event, guard };
}

/** Code-point order, not locale order: the same on every machine. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `EVENT`, `EVENT [guard]`, `always [guard]`: one label format for every renderer. */
export function edgeLabel(edge: DiagramEdge): string {
  return edge.guard ? `${edge.event} [${edge.guard}]` : edge.event;
}
