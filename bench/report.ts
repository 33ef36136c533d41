import os from 'node:os';

/**
 * What every benchmark section returns: named figures, each with the target it is held to and, where
 * the issue asks for one, the figure it is compared with in the same run (the floor, the raw insert
 * rate, the peer engine). Ratios are computed here, once, the same way for every section.
 */
export interface Target {
  op: '<=' | '>=';
  value: number;
}

export interface Figure {
  /** What was measured, e.g. "accepted requests/s at 64 clients". */
  name: string;
  value: number;
  unit: string;
  target?: Target;
  /** The same quantity measured in the same run on the baseline (bare Koa, raw inserts, DBOS). */
  baseline?: { name: string; value: number };
  /** A target on value / baseline.value, e.g. the host ≥ 3× the raw insert rate. */
  ratioTarget?: Target;
  note?: string;
}

export interface SectionResult {
  id: string;
  title: string;
  figures: Figure[];
  /** Anything else worth keeping in results.json (sample counts, settings). */
  details?: Record<string, unknown>;
  /** Set when the section could not run here; says exactly why. */
  skipped?: string;
}

export interface BenchOptions {
  /** The CI smoke run: tiny sizes and durations; checks that the bench works, not its speed. */
  quick: boolean;
  /** Progress lines (stderr), so the table on stdout stays clean. */
  progress: (line: string) => void;
  /** PostgreSQL for the sections that need it (peer comparison); undefined when none is reachable. */
  postgresUrl?: string;
}

export type Section = (options: BenchOptions) => Promise<SectionResult>;

export function meets(value: number, target: Target | undefined): boolean | undefined {
  if (!target) return undefined;
  return target.op === '<=' ? value <= target.value : value >= target.value;
}

export function ratioOf(f: Figure): number | undefined {
  return f.baseline && f.baseline.value !== 0 ? f.value / f.baseline.value : undefined;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 1e9),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The printed table: one line per figure with its target, whether it is met, and its ratio. */
export function formatTable(sections: SectionResult[]): string {
  const lines: string[] = [];
  lines.push('| section | figure | value | target | met | baseline (same run) | ratio |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const s of sections) {
    if (s.skipped) {
      lines.push(`| ${s.title} | — | not run: ${s.skipped} | | | | |`);
      continue;
    }
    for (const f of s.figures) {
      const r = ratioOf(f);
      const met = f.target ? meets(f.value, f.target) : f.ratioTarget && r !== undefined ? meets(r, f.ratioTarget) : undefined;
      const target = [f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.unit}` : '', f.ratioTarget ? `ratio ${f.ratioTarget.op} ${fmt(f.ratioTarget.value)}×` : ''].filter(Boolean).join('; ');
      lines.push(
        `| ${s.title} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${target || '—'} | ${met === undefined ? '—' : met ? 'yes' : 'NO'} | ${f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : '—'} | ${r === undefined ? '—' : `${r.toFixed(2)}×`} |`,
      );
    }
  }
  return lines.join('\n');
}
