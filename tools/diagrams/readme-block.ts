/**
 * The README's state machine section is generated: only the text between these two markers is ever
 * replaced, so the rest of the README stays as people wrote it.
 */
export const README_START = '<!-- diagrams:start -->';
export const README_END = '<!-- diagrams:end -->';

/** The README with its generated block replaced by `block`; throws when the markers are missing or out of order. */
export function replaceReadmeBlock(readme: string, block: string): string {
  const { before, after } = split(readme);
  return `${before}${README_START}\n${block}${README_END}${after}`;
}

/** What lies between the markers now (from the line after the start marker up to the end marker). */
export function readmeBlock(readme: string): string {
  const { inner } = split(readme);
  return inner;
}

function split(readme: string): { before: string; inner: string; after: string } {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < 0 || end < start || readme.indexOf(README_START, start + 1) >= 0 || readme.indexOf(README_END, end + 1) >= 0) {
    throw new Error(`README.md needs exactly one ${README_START} … ${README_END} block (in the "State machines" section)`);
  }
  const innerStart = start + README_START.length + (readme[start + README_START.length] === '\n' ? 1 : 0);
  return { before: readme.slice(0, start), inner: readme.slice(innerStart, end), after: readme.slice(end + README_END.length) };
}
