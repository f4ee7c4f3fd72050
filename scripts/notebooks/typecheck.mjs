// `npm run nb:check [folder]`: type-check each notebook's code cells, in order, as one
// TypeScript module against the library's own types (`mnist-lab` resolves to
// src/index.ts), so a change that breaks a notebook fails in seconds instead
// of in the kernel run. Errors are reported as notebook, cell and line.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const notebookDir = path.resolve(process.argv[2] ?? path.join(root, 'notebooks'));
// Inside node_modules so imports resolve from the project (and nothing lands in git).
const work = path.join(root, 'node_modules', '.cache', `mnist-lab-notebook-check-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/** Per generated file: which notebook cell each line came from. */
const origins = new Map();
for (const name of readdirSync(notebookDir).filter((file) => file.endsWith('.ipynb')).sort()) {
  const notebook = JSON.parse(readFileSync(path.join(notebookDir, name), 'utf8'));
  const lines = [];
  const lineOrigins = [];
  let cellNumber = 0;
  for (const cell of notebook.cells) {
    cellNumber++;
    if (cell.cell_type !== 'code') continue;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    source.split('\n').forEach((line, index) => {
      lines.push(line);
      lineOrigins.push({ cell: cellNumber, line: index + 1 });
    });
    lines.push('');
    lineOrigins.push({ cell: cellNumber, line: 0 });
  }
  lines.push('export {};');
  const file = name.replace(/\.ipynb$/, '.ts');
  writeFileSync(path.join(work, file), lines.join('\n'));
  origins.set(file, { notebook: name, lineOrigins });
}
writeFileSync(
  path.join(work, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      // tslab runs cells as ES modules with top-level await.
      target: 'ES2022',
      module: 'esnext',
      moduleResolution: 'node10',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      lib: ['ES2022', 'DOM'],
      types: ['node'],
      baseUrl: path.relative(work, root),
      paths: { 'mnist-lab': ['src/index.ts'] },
    },
    include: ['*.ts'],
  }),
);

try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(work, 'tsconfig.json'), '--pretty', 'false'], { cwd: work, encoding: 'utf8' });
  console.log(`nb:check: the code of ${origins.size} notebooks type-checks against src/`);
} catch (error) {
  const output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  const located = output.replace(/^([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (match, file, line, column) => {
    const origin = origins.get(file);
    const where = origin?.lineOrigins[Number(line) - 1];
    const shown = (file) => (file.startsWith(root + path.sep) ? path.relative(root, file) : file);
    return origin && where ? `${shown(path.join(notebookDir, origin.notebook))}, cell ${where.cell}, line ${where.line}:${column}` : match;
  });
  console.error(located.trim());
  console.error('nb:check: a notebook no longer type-checks against src/ (above: notebook, cell, line).');
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
