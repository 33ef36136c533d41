import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AnyStateMachine, StateNode } from 'xstate';
import { mintMachine } from '../../machines/mint';
import { redemptionMachine } from '../../machines/redemption';
import { LAYERS } from '../../tools/architecture/layers';

/**
 * Rules a reviewer would otherwise have to remember: tables belong to persistence/, state names to
 * machines/. What other code needs of a flow it reads from tags and typed context.
 */
const root = path.resolve(__dirname, '..', '..');

function sources(folder: string): string[] {
  const dir = path.join(root, folder);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(folder, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

/** String literals of a source file, with their line numbers (template literals without substitutions included). */
function literals(file: string): Array<{ line: number; value: string; text: string }> {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const out: Array<{ line: number; value: string; text: string }> = [];
  lines.forEach((text, i) => {
    const code = text.replace(/^\s*(\/\*\*?|\*|\/\/).*$/, '').replace(/\s\/\/\s.*$/, '');
    for (const m of code.matchAll(/'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`$\\\n]*)`/g)) out.push({ line: i + 1, value: m[1] ?? m[2] ?? m[3] ?? '', text: text.trim() });
  });
  return out;
}

const layered = LAYERS.map((l) => l.folder);
const outside = (folder: string) => layered.filter((f) => f !== folder).flatMap(sources);

function tableNames(): string[] {
  const names = new Set<string>();
  for (const file of sources('persistence/migrations')) {
    for (const m of fs.readFileSync(path.join(root, file), 'utf8').matchAll(/createTable\('([a-z_]+)'/g)) names.add(m[1]!);
  }
  return [...names];
}

function stateNames(machine: AnyStateMachine): string[] {
  const names: string[] = [];
  const walk = (node: StateNode<any, any>, prefix: string) => {
    for (const [key, child] of Object.entries(node.states)) {
      const full = prefix ? `${prefix}.${key}` : key;
      names.push(full, key);
      walk(child, full);
    }
  };
  walk(machine.root, '');
  return names;
}

/** State keys that are also words of the protocol (Alpaca's statuses, outbox statuses): flagged only next to a state. */
const SHARED_WORDS = new Set(['completed', 'pending', 'detected', 'checking', 'waiting', 'submitting', 'confirming']);

describe('architecture: source rules', () => {
  it('finds the tables and states it checks for (the rules are not vacuous)', () => {
    assert.ok(tableNames().includes('outbox') && tableNames().length >= 15);
    assert.ok(stateNames(mintMachine).includes('awaitingApproval.endorsed'));
    assert.ok(outside('persistence').length > 100);
  });

  it('touches tables only in persistence/: no Knex import, no table named as a query argument outside it', () => {
    const tables = new Set(tableNames());
    const found: string[] = [];
    for (const file of outside('persistence')) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      if (/from 'knex'|require\('knex'\)/.test(text)) found.push(`${file}: imports knex`);
      // A table named where a query takes it (`db('outbox')`, `trx('flows')`, `.from('journal')`, `.join('flows as f')`).
      const query = /(?:\b(?:db|trx|knex|reader|writer|tx|database)|\.(?:from|into|table|join|leftJoin|innerJoin|rightJoin|hasTable|createTable|alterTable|dropTable))\s*\(\s*['"`]([a-z_]+)(?: as \w+)?['"`]/g;
      for (const m of text.matchAll(query)) {
        if (tables.has(m[1]!)) found.push(`${file}:${text.slice(0, m.index).split('\n').length}: table '${m[1]}'`);
      }
    }
    assert.deepEqual(found, []);
  });

  it('names no machine state outside machines/ (other code reads tags and context)', () => {
    const states = new Set([...stateNames(mintMachine), ...stateNames(redemptionMachine)]);
    const found: string[] = [];
    for (const file of outside('machines')) {
      if (/\.matches\(/.test(fs.readFileSync(path.join(root, file), 'utf8'))) found.push(`${file}: snapshot.matches()`);
      for (const l of literals(file)) {
        if (!states.has(l.value)) continue;
        if (SHARED_WORDS.has(l.value) && !/state/i.test(l.text)) continue;
        found.push(`${file}:${l.line}: state '${l.value}'`);
      }
    }
    assert.deepEqual(found, []);
  });
});
