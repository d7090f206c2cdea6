import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/** One import between two files of src/ (paths relative to src/, e.g. `core/ports.ts`). */
export interface ImportEdge {
  from: string;
  to: string;
  /** `import type` / `export type` (or every named binding marked `type`): gone at run time. */
  typeOnly: boolean;
  dynamic: boolean;
}

/** Every relative import, `export … from` and dynamic `import()` of the .ts files under `srcDir`. */
export function readImportGraph(srcDir: string): ImportEdge[] {
  const files = readdirSync(srcDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.split('\\').join('/'));
  return files.flatMap((file) => importsOf(file, readFileSync(join(srcDir, file), 'utf8')));
}

/** The imports of one file's text; packages, node: modules and files outside src/ are left out. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean, dynamic: boolean) => {
    if (!specifier || !ts.isStringLiteralLike(specifier) || !specifier.text.startsWith('.')) return;
    const to = posix.normalize(posix.join(posix.dirname(file), specifier.text)).replace(/\.js$/, '.ts');
    if (to.startsWith('../')) return; // outside src/ (package.json)
    edges.push({ from: file, to, typeOnly, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const allTypes = Boolean(clause && !clause.name && named && named.length > 0 && named.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, Boolean(clause?.isTypeOnly) || allTypes, false);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || Boolean(named && named.length > 0 && named.every((e) => e.isTypeOnly)), false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The import circles among the files of `edges` (each one listed once, as a path that ends where it starts). */
export function findCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const walk = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) walk(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...next.keys()].sort()) if (!state.has(file)) walk(file);
  return cycles;
}
