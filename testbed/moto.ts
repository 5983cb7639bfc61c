// moto server (the AWS emulator) for IAM and STS.
import { motoServerPath } from './assets.ts';
import { freePort, startProcess, waitFor } from './processes.ts';

export interface Moto {
  url: string;
  /** Of the server process (the bench reads its CPU time). */
  pid: number | undefined;
  reset: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess('moto', motoServerPath(), ['-H', '127.0.0.1', '-p', String(port)]);
  await waitFor('moto server', async () => ((await fetch(`${url}/moto-api/`)).ok ? true : undefined), {
    diagnostics: proc.output,
  });
  return {
    url,
    pid: proc.child.pid,
    reset: async () => {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    stop: () => proc.stop(),
  };
}
