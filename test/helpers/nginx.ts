// A real nginx (Debian's) with WebDAV PUT on 127.0.0.1, as a Bazel-protocol remote cache.
import fs from 'node:fs';
import { freePort } from './ports.js';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

export interface Nginx {
  url: string;
  dataDir: string;
  /** nginx's access log: one line per request, with its status. */
  accessLog: string;
  stop(): Promise<void>;
}

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

/**
 * `token`: every request needs \`Authorization: Bearer <token>\`. `putRate` ('1r/s', '1r/m'): PUTs beyond that
 * rate are answered 503 (nginx's limit_req), as a busy server does: for retry tests.
 */
export async function startNginx(opts: { token?: string; putRate?: string } = {}): Promise<Nginx> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install -y nginx)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-nginx-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(path.join(dataDir, 'ac'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'cas'), { recursive: true });
  const auth = opts.token ? `if ($http_authorization != "Bearer ${opts.token}") { return 401; }` : '';
  // Only PUTs are limited: an empty key is not counted.
  const limitZone = opts.putRate ? `map $request_method $put_key { PUT $binary_remote_addr; default ""; }\n  limit_req_zone $put_key zone=puts:1m rate=${opts.putRate};` : '';
  const limit = opts.putRate ? 'limit_req zone=puts; limit_req_status 503;' : '';
  // Ours is the server that serves this file: another test's server that took the same port
  // first (test files run side by side) does not, and nginx then exits; it starts again elsewhere.
  const marker = `.ready-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(path.join(dataDir, marker), marker);
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), `
  daemon off;
  ${process.getuid?.() === 0 ? 'user root root;' : ''}
  worker_processes 1;
  pid ${dir}/nginx.pid;
  error_log ${dir}/error.log;
  events { worker_connections 64; }
  http {
    access_log ${dir}/access.log;
    ${limitZone}
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    server {
      listen 127.0.0.1:${port};
      root ${dataDir};
      client_max_body_size 0;
      location / {
        ${auth}
        ${limit}
        dav_methods PUT DELETE;
        create_full_put_path on;
        dav_access user:rw group:r all:r;
      }
    }
  }
  `);
    child = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    const started = child;
    if (await answers(`http://127.0.0.1:${port}/${marker}`, marker, opts.token, () => started.exitCode !== null)) break;
    if (started.exitCode === null) started.kill('SIGKILL');
    if (attempt >= 4) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dataDir,
    accessLog: path.join(dir, 'access.log'),
    stop: async () => {
      if (child!.exitCode === null) {
        const exited = new Promise((r) => child!.on('exit', r));
        child!.kill('SIGQUIT');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether the server at `url` serves `body` there (polled until it does, or `gone()`, or 5 s). */
export async function answers(url: string, body: string, token: string | undefined, gone: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      if (res.ok && (await res.text()) === body) return true;
      if (!res.ok) await res.body?.cancel();
      if (!gone()) return false; // someone else's server answers on this port
    } catch {
      /* not listening yet */
    }
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
