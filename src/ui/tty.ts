// Progress on a terminal with listr2: one line per running target (a lane per job slot)
// under a summary line; failures are printed in full once the build ends.
import type { BuildEvent } from '../engine/events.js';
import { failureText, fmtMs, summaryText } from './plain.js';
import { summarizeReasons } from './reasons.js';

interface Lane {
  name: string | undefined;
  detail: string;
  since: number;
}

export async function ttyRenderer(jobs: number, write: (s: string) => void) {
  const { Listr } = await import('listr2');
  const lanes: Lane[] = Array.from({ length: jobs }, () => ({ name: undefined, detail: '', since: 0 }));
  const failures: string[] = [];
  let selected = 0;
  let finished = 0;
  let ran = 0;
  let failed = 0;
  let end: ((summary: string) => void) | undefined;
  const ended = new Promise<string>((r) => (end = r));
  // Slurm jobs take no job slot, so more may run than there are lanes: those are counted.
  const unlaned = new Set<string>();
  const counts = () => `${finished}/${selected} checked · ${ran} ran${failed ? ` · ${failed} failed` : ''}${unlaned.size ? ` · ${unlaned.size} more running` : ''}`;
  let parentTitle: ((t: string) => void) | undefined;
  let finalTitle: string | undefined;
  const laneTitle: Array<((t: string) => void) | undefined> = [];
  const refresh = () => {
    parentTitle?.(`Building ${counts()}`);
    lanes.forEach((l, i) => laneTitle[i]?.(l.name ? `${l.name} ${fmtMs(performance.now() - l.since)} — ${l.detail}` : 'idle'));
  };
  const timer = setInterval(refresh, 250);
  const list = new Listr(
    [
      {
        title: 'Building',
        task: (_ctx, task) => {
          parentTitle = (t) => (task.title = t);
          // A build answered before listr started (all fresh or restored) already has its summary.
          if (finalTitle) task.title = finalTitle;
          return task.newListr(
            lanes.map((_, i) => ({
              title: 'idle',
              task: async (_c: unknown, sub: { title: string }) => {
                laneTitle[i] = (t) => (sub.title = t);
                await ended;
              },
            })),
            { concurrent: true, rendererOptions: { collapseSubtasks: true } },
          );
        },
      },
    ],
    // Ctrl-C is the build's to handle (stop the jobs, save, exit 130), not listr's (it would exit at once).
    { rendererOptions: { collapseSubtasks: true }, exitOnError: false, registerSignalListeners: false },
  );
  const running = list.run().catch(() => undefined);
  const listener = (e: BuildEvent) => {
    switch (e.type) {
      case 'plan': selected = e.selected; break;
      case 'fresh': finished++; break;
      case 'would-run': finished++; break;
      case 'start': {
        const lane = lanes.find((l) => l.name === undefined);
        if (!lane) {
          unlaned.add(e.name);
          break;
        }
        lane.name = e.name;
        lane.detail = `${e.executor ? `on ${e.executor}: ` : ''}${summarizeReasons(e.reasons)}`;
        lane.since = performance.now();
        break;
      }
      case 'done':
      case 'failed': {
        const lane = lanes.find((l) => l.name === e.name);
        if (lane) lane.name = undefined;
        unlaned.delete(e.name);
        finished++;
        if (e.type === 'done') ran++;
        else {
          failed++;
          failures.push(failureText(e));
        }
        break;
      }
      case 'blocked': finished++; break;
      case 'detached': {
        const lane = lanes.find((l) => l.name === e.name);
        if (lane) lane.name = undefined;
        unlaned.delete(e.name);
        finished++;
        failures.push(`⇢ ${e.name}: Slurm job ${e.jobId} (${e.state}), not waited for`);
        break;
      }
      case 'restored': finished++; ran++; break;
      case 'warning': failures.push(`warning: ${e.message}`); break;
      case 'progress': {
        const lane = lanes.find((l) => l.name === e.name);
        if (lane) lane.detail = e.text;
        break;
      }
      case 'summary':
        refresh();
        finalTitle = summaryText(e).replace(/^sbuild: /, '');
        parentTitle?.(finalTitle);
        end?.(summaryText(e));
        break;
    }
  };
  const close = async () => {
    clearInterval(timer);
    end?.('');
    await running;
    for (const f of failures) write(f);
  };
  return { listener, close };
}
