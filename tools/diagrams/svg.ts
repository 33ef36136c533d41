/**
 * DOT → SVG with Graphviz compiled to WebAssembly: the same renderer, and so the same bytes, on every
 * machine, without a system Graphviz. Graphviz's warnings (an unknown cluster in `lhead`, a bad
 * attribute) are errors here: they mean the DOT says something other than what was meant.
 */
export async function renderSvg(dot: string): Promise<string> {
  // An ES module: loaded with import() from this CommonJS build.
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const result = viz.render(dot, { format: 'svg' });
  if (result.status !== 'success' || result.errors.length) {
    throw new Error(`Graphviz could not render the diagram: ${result.errors.map((e) => `${e.level ?? 'error'}: ${e.message}`).join('; ')}`);
  }
  return result.output;
}
