import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The packages the shipped code (nodes/, which becomes dist/nodes) loads at run time; type-only imports left out. */
function runtimeImports(): Set<string> {
  const found = new Set<string>();
  for (const file of fs.readdirSync(path.join(repoRoot, 'nodes'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const source = fs.readFileSync(path.join(repoRoot, 'nodes', file), 'utf8');
    for (const match of source.matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+'([^']+)'|\brequire\('([^']+)'\)|\bimport\('([^']+)'\)/gm)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return found;
}

/** What a package depends on, transitively, as installed in this repository. */
function dependencyTree(roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const manifest = path.join(repoRoot, 'node_modules', name, 'package.json');
    if (!fs.existsSync(manifest)) return;
    for (const dependency of Object.keys(JSON.parse(fs.readFileSync(manifest, 'utf8')).dependencies ?? {})) visit(dependency);
  };
  for (const root of roots) visit(root);
  return seen;
}

describe('package: the manifest', function () {
  it('declares every package the shipped code loads as a runtime dependency', function () {
    const missing = [...runtimeImports()].filter((name) => !(name in pkg.dependencies));
    assert.deepEqual(missing, []);
  });

  it('lists as runtime dependencies only packages the shipped code loads, or @iota pins in their tree (docs/DEVELOPING.md)', function () {
    const loaded = runtimeImports();
    assert.ok(loaded.has('@iota/core'), 'the import scan found the @iota libraries');
    const tree = dependencyTree(loaded);
    const unused = Object.keys(pkg.dependencies).filter((name) => !loaded.has(name) && !(name.startsWith('@iota/') && tree.has(name)));
    assert.deepEqual(unused, [], 'test-only packages belong in devDependencies');
  });

  it('states one minimum Node.js version in engines, the README and the CI script', function () {
    const minimum = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    assert.ok(minimum, `engines.node is ">=major.minor": ${pkg.engines.node}`);
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const stated = [...readme.matchAll(/Node\.js (\d+(?:\.\d+)?) or newer|v(\d+(?:\.\d+)?) or newer/g)].map((m) => m[1] ?? m[2]);
    assert.ok(stated.length >= 2, 'the README states the minimum where it lists the requirements');
    // Node.js 22 is what a fresh Raspberry Pi gets, not a minimum.
    assert.deepEqual([...new Set(stated.filter((v) => v !== '22'))], [minimum]);
    const ci = fs.readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
    assert.match(ci, /require\("\.\/package\.json"\)\.engines\.node/, '.ci/run checks the Node.js it runs on against engines.node');
    const demo = fs.readFileSync(path.join(repoRoot, 'examples', 'demo.ts'), 'utf8');
    assert.ok(demo.includes(`Node.js ${minimum} or newer`), 'npm start names the same minimum');
  });
});
