/**
 * `docker` (docs/linuxkit-behaviour.md#formats): the root filesystem tar plus LinuxKit's `Dockerfile` entry (`FROM
 * scratch`, `COPY . ./`, `ENTRYPOINT ["/bin/rc.init"]`), `NAME.docker`, ready for `docker build - < NAME.docker`.
 * The Dockerfile goes just before the SBOM (the last entry), where LinuxKit puts it.
 */
import { Readable } from 'node:stream';
import { writeStreamAtomically } from '../util/atomic.ts';
import { readTarFile, tarStream } from '../tar/io.ts';
import { DOCKERFILE } from '../rootfs/assemble.ts';
import { PAX_LOCATION } from '../rootfs/constants.ts';
import type { EntryStream, TarEntry } from '../tar/entry.ts';
import type { OutputFormat } from './format.ts';

export function dockerfileEntry(mtime: number): TarEntry {
  const body = Buffer.from(DOCKERFILE);
  return {
    header: { name: 'Dockerfile', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size: body.length },
    body: Readable.from([body]),
  };
}

function isSbom(e: TarEntry): boolean {
  return (e.header.pax ?? []).some(([k, v]) => k === PAX_LOCATION && v.toString() === 'sbom');
}

/** The rootfs entries with the Dockerfile inserted before the SBOM entry (or appended when there is none). */
export async function* withDockerfile(entries: EntryStream, mtime: number): EntryStream {
  let added = false;
  for await (const e of entries) {
    if (!added && isSbom(e)) {
      added = true;
      yield dockerfileEntry(mtime);
    }
    yield e;
  }
  if (!added) yield dockerfileEntry(mtime);
}

export const docker: OutputFormat = {
  name: 'docker',
  outputs: (n) => [`${n}.docker`],
  tools: [],
  needs: ['tar'],
  kernel: [],
  streamable: true,
  write: async (ctx) => {
    const entries = withDockerfile(readTarFile(await ctx.inputs.rootfsTarPath()), ctx.sourceDateEpoch);
    await writeStreamAtomically(`${ctx.base}.docker`, tarStream(entries), { signal: ctx.signal });
  },
};
