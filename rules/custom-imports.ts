// `custom_imports = dict(imports=['mmdet_sar.models'])`: modules MMEngine imports before
// building the model. Where a module resolves to files of the repository, those files are
// code the jobs run: inputs, fingerprinted by content (installed packages are not).
import fs from 'node:fs';
import path from 'node:path';

/** Workspace-relative files (or `pkg/**\/*.py` globs) of the modules found in the repository, with their parent packages' `__init__.py`. */
export function customImportInputs(root: string, modules: string[]): string[] {
  const out = new Set<string>();
  for (const m of modules) {
    if (!/^[A-Za-z_][\w.]*$/.test(m)) continue;
    const parts = m.split('.');
    const rel = parts.join('/');
    const isFile = (p: string) => fs.statSync(path.join(root, p), { throwIfNoEntry: false })?.isFile() === true;
    let found = false;
    if (isFile(`${rel}.py`)) {
      out.add(`${rel}.py`);
      found = true;
    } else if (isFile(`${rel}/__init__.py`)) {
      out.add(`${rel}/**/*.py`); // a package: every module in it may be imported by its __init__
      found = true;
    }
    if (!found) continue;
    for (let i = 1; i < parts.length; i++) {
      const init = `${parts.slice(0, i).join('/')}/__init__.py`;
      if (isFile(init)) out.add(init);
    }
  }
  return [...out].sort();
}
