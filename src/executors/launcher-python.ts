// The job launcher in Python, where Linux has one: the same protocol and duties as the Node
// program in launcher.ts, but each job is started with a vfork (no copy of the launcher's
// page tables) instead of Node's fork. On a build of thousands of one-line jobs the
// fork of a Node process was the largest cost sbuild added to each job (about 1 ms of system
// time per job, docs/PERFORMANCE.md). Elsewhere, or when no usable python3 starts, the Node
// launcher does the work.
import fs from 'node:fs';
import path from 'node:path';

/**
 * The launcher's program (run with `python3 -c`): JSON lines in, JSON lines out. Python 3.8 or
 * newer; an older one exits before it says it is ready. subprocess starts each job with vfork
 * (Python 3.10 and newer; fork of a small process before), not posix_spawn: glibc's leaves its
 * two internal signals ignored in the job.
 */
export const PYTHON_PROGRAM = String.raw`import errno, json, os, select, signal, subprocess, sys, time
if sys.version_info < (3, 8):
    sys.exit(3)
held = set()  # groups started and not yet ended by sbuild: what to stop if sbuild dies
jobs = {}     # pid -> job id, until its exit is reported
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)
os.set_blocking(1, True)  # a full pipe waits for sbuild to read; it never drops a message
out = sys.stdout.buffer

def send(m):
    try:
        out.write((json.dumps(m) + '\n').encode())
        out.flush()
    except OSError:
        pass  # sbuild is gone: its end of stdin closes too

def start_of(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        return s[s.rindex(')') + 2:].split(' ')[19]
    except (OSError, ValueError, IndexError):
        return None

def open_log(log):
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        return os.open(log, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        return os.open(log, flags, 0o666)

def start(j):
    try:
        fd = open_log(j['log'])
    except OSError as e:
        return send({'id': j['id'], 'error': 'could not write its log %s: %s' % (j['log'], e.strerror)})
    file = j.get('file', '/bin/sh')
    try:
        os.write(fd, j['header'].encode())
        argv = ['/bin/sh', '-c', j['command']] if 'command' in j else [file] + j['args']
        # Looked up in the job's own PATH, in its own session; signals Python ignores (SIGPIPE)
        # are put back to their defaults.
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, cwd=j['cwd'], env=j['env'],
                             start_new_session=True, restore_signals=True)
    except OSError as e:
        return send({'id': j['id'], 'error': 'spawn %s %s' % (file, errno.errorcode.get(e.errno, e.strerror))})
    except Exception as e:  # what the job's text cannot be passed as (a lone surrogate), and the like
        return send({'id': j['id'], 'error': 'spawn %s: %s' % (file, e)})
    finally:
        os.close(fd)
    held.add(p.pid)
    jobs[p.pid] = (j['id'], p)
    # Read before the exit can be reaped, so the start time is this process's.
    send({'id': j['id'], 'pid': p.pid, 'start': start_of(p.pid)})

def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = jobs.pop(pid, None)
        if job is None:
            continue
        jid, p = job
        p.returncode = status  # reaped here: the Popen must not wait for it again
        if os.WIFSIGNALED(status):
            send({'id': jid, 'code': None, 'signal': signal.Signals(os.WTERMSIG(status)).name})
        else:
            send({'id': jid, 'code': os.WEXITSTATUS(status), 'signal': None})

def signal_groups(groups, sig):
    alive = []
    for g in groups:
        try:
            os.killpg(g, sig)
            alive.append(g)
        except OSError:
            pass
    return alive

def stop_all():
    # sbuild is gone (its end of stdin closed): stop every group it had not ended, as its watchdog would.
    groups = list(held)
    if not groups:
        sys.exit(0)
    signal_groups(groups, signal.SIGTERM)
    t0 = time.monotonic()
    while True:
        time.sleep(0.05)
        reap()  # a reaped job no longer counts as a member of its group
        if not signal_groups(groups, 0):
            sys.exit(0)
        if time.monotonic() - t0 > 2:
            signal_groups(groups, signal.SIGKILL)
            sys.exit(0)

buf = b''
send({'ready': True})
while True:
    try:
        ready = select.select([0, wake_r], [], [])[0]
    except InterruptedError:
        continue
    if wake_r in ready:
        try:
            while os.read(wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        reap()
    if 0 in ready:
        d = os.read(0, 65536)
        if not d:
            stop_all()
        buf += d
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            if not line:
                continue
            m = json.loads(line)
            for g in m.get('ended') or []:
                held.discard(g)
            if 'id' in m:
                start(m)
`;

/**
 * The python3 the launcher runs on: `$SBUILD_LAUNCHER_PYTHON` where set (`node`: the Node
 * launcher), else Debian's own (no version-manager shim to start through), else the first on
 * PATH; Linux only (it reads /proc).
 */
export function launcherPython(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const chosen = env.SBUILD_LAUNCHER_PYTHON;
  if (chosen) return chosen === 'node' ? undefined : chosen;
  for (const dir of ['/usr/bin', ...(env.PATH ?? '').split(path.delimiter).filter(Boolean)]) {
    const p = path.join(dir, 'python3');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
