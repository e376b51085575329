/**
 * Whiteout names in layer tars (OCI image-spec layer.md "Whiteouts"): `<dir>/.wh.<name>` deletes a lower
 * path, `<dir>/.wh..wh..opq` hides a directory's lower contents, other `.wh..wh.` names are aufs bookkeeping.
 * Flattening applies them (image/flatten.ts); a layer's table of contents marks them (store/layer-toc.ts).
 */

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

export type Whiteout = { kind: 'delete'; target: string } | { kind: 'opaque'; dir: string } | { kind: 'meta' };

/** What a `.wh.` entry means, or undefined for an ordinary name. */
export function whiteoutOf(name: string): Whiteout | undefined {
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  if (!base.startsWith(WH)) return undefined;
  const dir = name.slice(0, Math.max(slash, 0));
  if (base === OPAQUE) return { kind: 'opaque', dir };
  if (base.startsWith(`${WH}${WH}`)) return { kind: 'meta' }; // aufs bookkeeping (.wh..wh.plnk, …)
  const target = base.slice(WH.length);
  return { kind: 'delete', target: dir === '' ? target : `${dir}/${target}` };
}
