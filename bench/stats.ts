export function summarize(samplesMs: number[]): { n: number; median: number; p95: number; min: number; max: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, median: round(at(0.5)), p95: round(at(0.95)), min: round(s[0]!), max: round(s[s.length - 1]!) };
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
