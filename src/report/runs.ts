// The report's "Runs across commits": `sbuild results --across` over the last commits (or the
// range given with --across), as a sortable table and a line chart of one chosen metric per
// experiment run. Like the metrics diff, it never fails the report: without git, outside a
// repository or before the first commit it says why there is nothing to show.
import type { Workspace } from '../engine/workspace.js';
import { declaredExperiments } from '../config/variants.js';
import { resultsTable } from '../metrics/results.js';
import { openRepo, recentRange } from '../metrics/git.js';
import { paramsCell, shownColumns } from '../metrics/results-render.js';
import type { RunsData } from './types.js';

/** Commits shown when no range is given. */
export const RECENT_COMMITS = 10;

export async function runsSection(ws: Workspace, across?: string): Promise<RunsData> {
  let range = across;
  try {
    if (range === undefined) {
      range = await recentRange(await openRepo(ws.root, 'sbuild report'), RECENT_COMMITS);
      if (range === undefined) return { range: '', sides: [], columns: [], rows: [], message: 'No runs across commits: the git repository has no commits yet.' };
    }
    const variantOf = new Map<string, string>();
    for (const e of declaredExperiments().values()) if (e.variantOf) variantOf.set(e.name, e.variantOf);
    const t = await resultsTable(ws.root, ws.graph, ws.lock.entries as never, { across: range, variantOf });
    // The table and chart show what `sbuild results` shows: the top-level numbers of each split.
    const columns = shownColumns(t, false);
    return {
      range,
      sides: t.sides.map((s) => ({ label: s.label, subject: s.subject ?? '', date: s.date ?? '' })),
      columns,
      rows: t.rows.map((r) => ({
        experiment: r.experiment,
        run: r.run,
        side: r.side,
        params: paramsCell(t, r),
        values: columns.map((c) => (typeof r.metrics[c] === 'number' ? (r.metrics[c] as number) : null)),
        unrecorded: r.unrecorded.length > 0,
      })),
      ...(t.rows.length ? {} : { message: `No experiment runs recorded in ${range}.` }),
    };
  } catch (err) {
    const m = (err as Error).message;
    const why = /no `git` program/.test(m) ? 'git is not installed' : /not inside a git repository/.test(m) ? 'the workspace is not inside a git repository' : m;
    return { range: range ?? '', sides: [], columns: [], rows: [], message: `No runs across commits: ${why}.` };
  }
}
