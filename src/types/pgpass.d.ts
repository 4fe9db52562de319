declare module 'pgpass' {
  function pgpass(connInfo: Record<string, unknown>, cb: (password: string | undefined) => void): void;
  export default pgpass;
}

declare module 'pgpass/lib/helper.js' {
  import type { Stats } from 'node:fs';
  import type { Readable } from 'node:stream';
  const helper: {
    getFileName(env?: NodeJS.ProcessEnv): string;
    usePgPass(stats: Stats, file: string): boolean;
    getPassword(connInfo: Record<string, unknown>, stream: Readable, cb: (password: string | undefined) => void): void;
  };
  export default helper;
}
