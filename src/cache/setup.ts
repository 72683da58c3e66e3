// The remote cache a command uses: `--remote-cache` or the config's `remoteCache`.
import { SbuildError } from '../errors.js';
import type { Config } from '../config/types.js';
import { RemoteCache } from './remote.js';

export function remoteFor(config: Config, flags: { url: string | undefined; upload: boolean }, warn: (m: string) => void): RemoteCache | undefined {
  const rc = config.remoteCache;
  const url = flags.url ?? rc?.url;
  if (!url) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    throw new SbuildError('config-invalid', `The config's remoteCache.url must be an http:// or https:// URL, got '${url}'.`);
  }
  let authorization: string | undefined;
  if (rc?.tokenEnv) {
    const token = process.env[rc.tokenEnv];
    if (token) authorization = `Bearer ${token}`;
    else warn(`remoteCache.tokenEnv names ${rc.tokenEnv}, which is not set; using the remote cache without credentials`);
  }
  return new RemoteCache({ url, authorization, upload: flags.upload || rc?.upload === true, warn });
}
