// Reading and writing files of a test workspace by workspace-relative path.
import fs from 'node:fs';
import path from 'node:path';

export class WorkspaceFiles {
  constructor(readonly dir: string) {}

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(rel: string, content: string): void {
    fs.mkdirSync(path.dirname(this.path(rel)), { recursive: true });
    fs.writeFileSync(this.path(rel), content);
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel));
  }
}
