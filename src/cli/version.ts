import fs from 'node:fs';

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `sbuild ${pkg.version}`;
}
