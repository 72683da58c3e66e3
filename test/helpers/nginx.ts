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
  const port = await freePort();
  const auth = opts.token ? `if ($http_authorization != "Bearer ${opts.token}") { return 401; }` : '';
  // Only PUTs are limited: an empty key is not counted.
  const limitZone = opts.putRate ? `map $request_method $put_key { PUT $binary_remote_addr; default ""; }\n  limit_req_zone $put_key zone=puts:1m rate=${opts.putRate};` : '';
  const limit = opts.putRate ? 'limit_req zone=puts; limit_req_status 503;' : '';
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
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/`, { method: 'HEAD' });
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    dataDir,
    accessLog: path.join(dir, 'access.log'),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGQUIT');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
