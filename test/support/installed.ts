import fs from 'node:fs';
import path from 'node:path';

export interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
}

/** Every copy of every package under a node_modules tree, nested copies included. */
export function listInstalled(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visitPackage = (dir: string) => {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      found.push({ name, version, dir });
    }
    const nested = path.join(dir, 'node_modules');
    if (fs.existsSync(nested)) visitTree(nested);
  };
  const visitTree = (tree: string) => {
    for (const entry of fs.readdirSync(tree, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(tree, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of fs.readdirSync(full, { withFileTypes: true })) {
          if (scoped.isDirectory()) visitPackage(path.join(full, scoped.name));
        }
      } else {
        visitPackage(full);
      }
    }
  };
  visitTree(nodeModules);
  return found;
}

/** The version every @iota package must have; see docs/DEVELOPING.md on pinning. */
export function expectedIotaVersion(name: string): string {
  return name === '@iota/curl' ? '1.0.0-beta.19' : '1.0.0-beta.30';
}

export function wrongIotaVersions(nodeModules: string): string[] {
  return listInstalled(nodeModules)
    .filter((p) => p.name.startsWith('@iota/') && p.version !== expectedIotaVersion(p.name))
    .map((p) => `${p.name}@${p.version} at ${p.dir}`);
}
