import { type DiagramState, type MachineDiagram, edgeLabel } from './graph';

/**
 * Graphviz DOT for one machine. Compound states are clusters; each cluster (and the machine itself)
 * holds a small dot for "entered here", pointing at its initial child, which also anchors edges into
 * and out of the cluster (`lhead`/`ltail` clip them at the cluster's border). Output depends only on
 * the machine: no dates, no versions, ids are the state node ids.
 */

export const STYLE = {
  font: 'Helvetica',
  line: '#4a5568',
  fill: '#ffffff',
  cluster: '#f7fafc',
  /** States tagged `needsOperator`: a person must act before the flow moves on. */
  operatorFill: '#fde8e8',
  operatorLine: '#c53030',
  operatorText: '#742a2a',
  finalFill: '#edf7ed',
} as const;

export const LEGEND = 'red: needsOperator (an operator event resumes it)    double border: final';

export interface DotOptions {
  /** Top to bottom suits a mostly linear flow; left to right one that fans out into many held states. */
  direction?: 'TB' | 'LR';
}

export function toDot(diagram: MachineDiagram, options: DotOptions = {}): string {
  const lines: string[] = [];
  lines.push(`digraph ${q(diagram.id)} {`);
  lines.push(`  graph [rankdir=${options.direction ?? 'TB'}, compound=true, fontname=${q(STYLE.font)}, fontsize=10, nodesep=0.35, ranksep=0.45, labelloc=b, label=${q(LEGEND)}];`);
  lines.push(`  node [shape=box, style="rounded,filled", fontname=${q(STYLE.font)}, fontsize=11, color=${q(STYLE.line)}, fillcolor=${q(STYLE.fill)}];`);
  lines.push(`  edge [fontname=${q(STYLE.font)}, fontsize=9, color=${q(STYLE.line)}, arrowsize=0.7];`);
  emitChildren(diagram.root, lines, '  ');
  const compound = new Set(compoundIds(diagram.root));
  for (const e of diagram.edges) {
    const attrs = [`label=${q(edgeLabel(e))}`];
    let from = e.source;
    let to = e.target;
    if (compound.has(from)) {
      attrs.push(`ltail=${q(clusterId(from))}`);
      from = entryId(from);
    }
    if (compound.has(to)) {
      attrs.push(`lhead=${q(clusterId(to))}`);
      to = entryId(to);
    }
    if (e.event === 'always') attrs.push('style=dashed');
    lines.push(`  ${q(from)} -> ${q(to)} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function emitChildren(parent: DiagramState, lines: string[], indent: string): void {
  if (parent.initial) {
    lines.push(`${indent}${q(entryId(parent.id))} [shape=point, width=0.12, style=filled, fillcolor=${q(STYLE.line)}, label=""];`);
    lines.push(`${indent}${q(entryId(parent.id))} -> ${q(parent.initial)};`);
  }
  for (const s of parent.children) {
    if (s.kind === 'compound') {
      lines.push(`${indent}subgraph ${q(clusterId(s.id))} {`);
      lines.push(`${indent}  graph [label=${q(s.key)}, labelloc=t, style="rounded,filled", color=${q(s.needsOperator ? STYLE.operatorLine : STYLE.line)}, fillcolor=${q(STYLE.cluster)}, labeljust=l];`);
      emitChildren(s, lines, `${indent}  `);
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}${q(s.id)} [${nodeAttrs(s).join(', ')}];`);
    }
  }
}

function nodeAttrs(s: DiagramState): string[] {
  const attrs = [`label=${q(s.key)}`];
  if (s.kind === 'final') attrs.push('peripheries=2', `fillcolor=${q(STYLE.finalFill)}`);
  if (s.needsOperator) attrs.push(`fillcolor=${q(STYLE.operatorFill)}`, `color=${q(STYLE.operatorLine)}`, `fontcolor=${q(STYLE.operatorText)}`);
  return attrs;
}

function compoundIds(s: DiagramState): string[] {
  return s.children.flatMap((c) => (c.kind === 'compound' ? [c.id, ...compoundIds(c)] : compoundIds(c)));
}

export const clusterId = (stateId: string) => `cluster_${stateId}`;
/** The "entered here" dot of a compound state (or of the machine). */
export const entryId = (stateId: string) => `${stateId}.__entry`;

/** A DOT string literal. */
function q(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
