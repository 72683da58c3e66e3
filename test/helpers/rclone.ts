// A real rclone WebDAV server (`rclone serve webdav`, Debian's rclone) on 127.0.0.1, and an
// rclone config with a remote that points at it, as a user would define one.
import fs from 'node:fs';
import { freePort } from './ports.js';
import { answers } from './nginx.js';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface RcloneServer {
  /** The served folder (what the remote's paths land in). */
  dataDir: string;
  /** An rclone config defining the remote `name`: pass it as RCLONE_CONFIG. */
  config: string;
  /** The remote's name in that config. */
  remote: string;
  stop(): Promise<void>;
}

/** Why rclone tests cannot run here, or false. */
export const noRclone: string | false = spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0 ? false : 'rclone is not installed (apt-get install -y rclone)';

export async function startRcloneWebdav(remote = 'pub'): Promise<RcloneServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-rclone-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  // Ours is the server that serves this file (another test's may have taken the port first).
  const marker = `.ready-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(path.join(dataDir, marker), marker);
  const config = path.join(dir, 'rclone.conf');
  let child: ChildProcess | undefined;
  let log = '';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    fs.writeFileSync(config, `[${remote}]\ntype = webdav\nurl = http://127.0.0.1:${port}/\nvendor = other\n`);
    child = spawn('rclone', ['serve', 'webdav', dataDir, '--addr', `127.0.0.1:${port}`, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const started = child;
    started.stderr!.on('data', (d) => (log += d));
    if (await answers(`http://127.0.0.1:${port}/${marker}`, marker, undefined, () => started.exitCode !== null)) break;
    if (started.exitCode === null) started.kill('SIGKILL');
    if (attempt >= 4) throw new Error(`rclone serve webdav did not start: ${log}`);
  }
  fs.rmSync(path.join(dataDir, marker));
  return {
    dataDir,
    config,
    remote,
    stop: async () => {
      if (child!.exitCode === null) {
        const exited = new Promise((r) => child!.on('exit', r));
        child!.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
