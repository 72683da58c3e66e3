// A real rclone WebDAV server (`rclone serve webdav`, Debian's rclone) on 127.0.0.1, and an
// rclone config with a remote that points at it, as a user would define one.
import fs from 'node:fs';
import { freePort } from './ports.js';
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
  const port = await freePort();
  const config = path.join(dir, 'rclone.conf');
  fs.writeFileSync(config, `[${remote}]\ntype = webdav\nurl = http://127.0.0.1:${port}/\nvendor = other\n`);
  const child: ChildProcess = spawn('rclone', ['serve', 'webdav', dataDir, '--addr', `127.0.0.1:${port}`, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  for (let i = 0; ; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'PROPFIND', headers: { depth: '0' } });
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`rclone serve webdav did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    dataDir,
    config,
    remote,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
