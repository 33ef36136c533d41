import { type DiagramState, type MachineDiagram, allStates, edgeLabel } from './graph';
import { STYLE } from './dot';

/**
 * Mermaid `stateDiagram-v2` for one machine (GitHub renders it in the README). Mermaid ids are global
 * within a diagram, so each state's id is its path (`minting_submitting`) and its name the label.
 * Each transition is written inside the innermost composite state holding both ends, as Mermaid expects.
 */

export function toMermaid(diagram: MachineDiagram): string {
  const parentOf = new Map<string, string>();
  const index = (s: DiagramState) => s.children.forEach((c) => (parentOf.set(c.id, s.id), index(c)));
  index(diagram.root);
  const edgesByBlock = new Map<string, string[]>();
  for (const e of diagram.edges) {
    const block = innermostCommonParent(e.source, e.target, parentOf, diagram.root.id);
    const line = `${mermaidId(diagram, e.source)} --> ${mermaidId(diagram, e.target)} : ${edgeLabel(e)}`;
    edgesByBlock.set(block, [...(edgesByBlock.get(block) ?? []), line]);
  }

  const lines = ['stateDiagram-v2'];
  const emit = (block: DiagramState, indent: string) => {
    if (block.initial) lines.push(`${indent}[*] --> ${mermaidId(diagram, block.initial)}`);
    for (const s of block.children) {
      const id = mermaidId(diagram, s.id);
      if (s.kind === 'compound') {
        lines.push(`${indent}state ${id} {`);
        emit(s, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(id === s.key ? `${indent}${id}` : `${indent}state "${s.key}" as ${id}`);
      }
    }
    for (const line of edgesByBlock.get(block.id) ?? []) lines.push(`${indent}${line}`);
    for (const s of block.children) if (s.kind === 'final') lines.push(`${indent}${mermaidId(diagram, s.id)} --> [*]`);
  };
  emit(diagram.root, '  ');

  const operatorStates = allStates(diagram).filter((s) => s.needsOperator);
  if (operatorStates.length) {
    lines.push(`  classDef needsOperator fill:${STYLE.operatorFill},stroke:${STYLE.operatorLine},color:${STYLE.operatorText}`);
    lines.push(`  class ${operatorStates.map((s) => mermaidId(diagram, s.id)).join(',')} needsOperator`);
  }
  return `${lines.join('\n')}\n`;
}

/** `mint.minting.submitting` → `minting_submitting`. */
export function mermaidId(diagram: MachineDiagram, stateId: string): string {
  return stateId.slice(diagram.root.id.length + 1).replace(/[^A-Za-z0-9_]/g, '_');
}

/** The deepest state that strictly contains both ends of a transition (the root if none). */
function innermostCommonParent(source: string, target: string, parentOf: Map<string, string>, rootId: string): string {
  const ancestors = (id: string) => {
    const out: string[] = [];
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) out.push(p);
    return out;
  };
  const ofTarget = new Set(ancestors(target));
  return ancestors(source).find((a) => ofTarget.has(a)) ?? rootId;
}
