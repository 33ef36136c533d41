import type { AnyStateMachine } from 'xstate';
import { INLINE, actionName, guardName } from './names';

/**
 * A machine's config as plain JSON, the form Stately Studio imports (`createMachine(json)`).
 *
 * `JSON.stringify(machine.config)` is not enough: built-in actions (`raise`, `cancel`, `assign`) are
 * functions, so they vanish or turn into `null` entries, and parameter functions are dropped without
 * a trace. Here each keeps its name (`xstate.raise`) and what can be said of it without code (the
 * raised event, the delay's name, the assigned keys), and `context`, a function of the input, is left
 * out: the Studio shows structure, not data.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function toStudioConfig(machine: AnyStateMachine): JsonObject {
  return stateConfig(machine.config as Record<string, unknown>);
}

/** The same config, as the text written to `docs/machines/<id>.json`. */
export function toStudioJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(toStudioConfig(machine), null, 2)}\n`;
}

const PLAIN_STATE_KEYS = ['id', 'type', 'history', 'initial', 'description'] as const;

function stateConfig(config: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const key of PLAIN_STATE_KEYS) if (typeof config[key] === 'string') out[key] = config[key] as string;
  if (config.target !== undefined) out.target = targets(config.target);
  if (Array.isArray(config.tags) && config.tags.length) out.tags = config.tags.map(String);
  const meta = jsonOnly(config.meta);
  if (meta !== undefined) out.meta = meta;
  for (const key of ['entry', 'exit'] as const) if (config[key] !== undefined) out[key] = actions(config[key]);
  if (config.on) out.on = mapValues(config.on as Record<string, unknown>, transitions);
  if (config.always) out.always = transitions(config.always);
  if (config.after) out.after = mapValues(config.after as Record<string, unknown>, transitions);
  if (config.invoke) out.invoke = ([] as unknown[]).concat(config.invoke).map(invokeConfig);
  if (config.onDone) out.onDone = transitions(config.onDone);
  if (config.states) out.states = mapValues(config.states as Record<string, unknown>, (s) => stateConfig(s as Record<string, unknown>));
  return out;
}

function invokeConfig(invoke: unknown): Json {
  const i = invoke as Record<string, unknown>;
  const out: JsonObject = { src: typeof i.src === 'string' ? i.src : INLINE };
  if (typeof i.id === 'string') out.id = i.id;
  if (i.onDone) out.onDone = transitions(i.onDone);
  if (i.onError) out.onError = transitions(i.onError);
  return out;
}

function transitions(value: unknown): Json {
  if (Array.isArray(value)) return value.map(transition);
  return transition(value);
}

function transition(value: unknown): Json {
  if (typeof value === 'string' || value === undefined) return value ?? {};
  const t = value as Record<string, unknown>;
  const out: JsonObject = {};
  if (t.target !== undefined) out.target = targets(t.target);
  const guard = guardName(t.guard);
  if (guard !== undefined) out.guard = guard;
  if (t.actions !== undefined) out.actions = actions(t.actions);
  if (typeof t.reenter === 'boolean') out.reenter = t.reenter;
  if (typeof t.description === 'string') out.description = t.description;
  return out;
}

function targets(target: unknown): Json {
  return Array.isArray(target) ? target.map(String) : String(target);
}

function actions(value: unknown): Json {
  if (Array.isArray(value)) return value.map(action);
  return action(value);
}

function action(value: unknown): Json {
  if (typeof value === 'string') return value;
  const name = actionName(value);
  if (name === INLINE) return INLINE;
  const a = value as Record<string, unknown>;
  const params = typeof a === 'function' ? builtinParams(a) : jsonOnly(a.params);
  return params === undefined ? { type: name } : { type: name, params };
}

/** What a built-in action says without running it: the raised event and delay, the cancelled id, the assigned keys. */
function builtinParams(a: Record<string, unknown>): JsonObject | undefined {
  const params: JsonObject = {};
  if (a.type === 'xstate.raise') {
    params.event = jsonOnly(a.event) ?? INLINE;
    if (a.delay !== undefined) params.delay = jsonOnly(a.delay) ?? INLINE;
    if (a.id !== undefined) params.id = jsonOnly(a.id) ?? INLINE;
  } else if (a.type === 'xstate.cancel') {
    params.sendId = jsonOnly(a.sendId) ?? INLINE;
  } else if (a.type === 'xstate.assign' && a.assignment && typeof a.assignment === 'object') {
    params.keys = Object.keys(a.assignment);
  }
  return Object.keys(params).length ? params : undefined;
}

function mapValues(record: Record<string, unknown>, f: (v: unknown) => Json): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(record)) out[k] = f(v);
  return out;
}

/** The value itself if it is plain JSON (no functions, no class instances, no undefined), else undefined. */
export function jsonOnly(value: unknown): Json | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const items = value.map(jsonOnly);
    return items.every((x) => x !== undefined) ? (items as Json[]) : undefined;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const j = jsonOnly(v);
      if (j === undefined) return undefined;
      out[k] = j;
    }
    return out;
  }
  return undefined;
}
