/**
 * Names for the code a machine config may hold (guards, actions), so the diagrams and the Studio
 * export can show what a transition checks or does without carrying the code itself.
 */

/** Shown where a machine uses an anonymous function: the Studio cannot show its code, only that it exists. */
export const INLINE = '(inline)';

type Named = { type?: unknown; guards?: unknown; name?: unknown };

/** `senderUnknown`, `not(assetHalted)`, or `(inline)` for an anonymous function. */
export function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  const g = guard as Named;
  // Built-in combinators (and, or, not) are functions carrying their operands.
  if (typeof g.type === 'string' && Array.isArray(g.guards)) return `${g.type.replace(/^xstate\./, '')}(${g.guards.map((x) => guardName(x)).join(', ')})`;
  if (typeof g.type === 'string') return g.type;
  return INLINE;
}

/** `recordFailure`, `xstate.assign`, … or `(inline)` for an anonymous function. */
export function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  const a = action as Named;
  if (a && typeof a.type === 'string') return a.type;
  return INLINE;
}
