import fs from 'node:fs';
import path from 'node:path';
import { buildArtifacts } from './artifacts';
import { replaceReadmeBlock } from './readme-block';

/**
 * `npm run diagrams`: writes docs/machines/ (DOT, SVG, Mermaid, Stately Studio JSON for each machine)
 * and the Mermaid block of README.md's "State machines" section. Run it after changing a machine;
 * test/machines/diagrams.test.ts fails until the committed files match.
 */
async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const artifacts = await buildArtifacts();
  for (const [file, content] of artifacts.files) {
    const target = path.join(root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeIfChanged(target, content);
  }
  // Read and written back at once, touching nothing outside the markers.
  const readmePath = path.join(root, 'README.md');
  writeIfChanged(readmePath, replaceReadmeBlock(fs.readFileSync(readmePath, 'utf8'), artifacts.readmeBlock));
}

function writeIfChanged(file: string, content: string): void {
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === content) return;
  fs.writeFileSync(file, content);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
