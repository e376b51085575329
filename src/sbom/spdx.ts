/**
 * The image's SBOM (docs/linuxkit-behaviour.md#sbom): one SPDX 2.3 JSON document, written as the last tar entry.
 *
 * As LinuxKit does, the SPDX attestations of the images used are merged: their packages, files and
 * relationships are copied, file names get the directory the image was unpacked to, and SPDX ids are made
 * unique per source document (`SPDXRef-D<n>-…`). In addition every image used is listed as a package (expanded
 * reference, manifest digest, purl), so an image without attestations still appears — without any claim
 * about its contents. Unlike LinuxKit's random UUID, `documentNamespace` is derived from the inputs (images,
 * merged documents, creation time), so default builds are reproducible.
 */
import { createHash } from 'node:crypto';

export interface SbomImage {
  /** Expanded reference, as written in the rootfs PAX records. */
  ref: string;
  /** Platform manifest digest. */
  digest: string;
}

/** An image's SPDX document and where the image's files are in the root filesystem. */
export interface SbomDocument {
  prefix: string;
  doc: Record<string, unknown>;
}

export interface SbomOptions {
  images: SbomImage[];
  documents?: SbomDocument[];
  /** Seconds since the epoch. */
  created: number;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A version-5-style UUID from a digest of the inputs (RFC 9562 layout, name-based). */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function purl(ref: string, digest: string): string {
  const name = ref.split('@')[0]?.replace(/:[^/:]+$/, '') ?? ref;
  const last = name.split('/').pop() ?? name;
  const repo = encodeURIComponent(name.slice(0, name.length - last.length - 1) + '/' + last);
  return `pkg:oci/${last}@${encodeURIComponent(digest)}?repository_url=${repo}`;
}

function pkg(img: SbomImage, i: number): Record<string, unknown> {
  return {
    name: img.ref,
    SPDXID: `SPDXRef-Package-image-${i}`,
    versionInfo: img.digest,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(img.ref, img.digest) },
    ],
  };
}

type Obj = Record<string, unknown>;
const list = (v: unknown): Obj[] =>
  Array.isArray(v) ? v.filter((x): x is Obj => typeof x === 'object' && x !== null) : [];

function renameIds(v: unknown, n: number): unknown {
  if (typeof v === 'string')
    return v.startsWith('SPDXRef-') && v !== 'SPDXRef-DOCUMENT' ? `SPDXRef-D${n}-${v.slice(8)}` : v;
  if (Array.isArray(v)) return v.map((x) => renameIds(x, n));
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renameIds(x, n)]));
  return v;
}

function prefixFile(f: Obj, prefix: string): Obj {
  const name = typeof f['fileName'] === 'string' ? f['fileName'].replace(/^\.?\/+/, '') : undefined;
  return name === undefined || prefix === '' ? f : { ...f, fileName: `/${prefix}/${name}` };
}

/** Packages, files and relationships of the attached documents, ids made unique, file names prefixed. */
function merged(docs: SbomDocument[]): { packages: Obj[]; files: Obj[]; relationships: Obj[] } {
  const out = { packages: [] as Obj[], files: [] as Obj[], relationships: [] as Obj[] };
  docs.forEach(({ prefix, doc }, n) => {
    const d = renameIds(doc, n) as Obj;
    out.packages.push(...list(d['packages']));
    out.files.push(...list(d['files']).map((f) => prefixFile(f, prefix)));
    out.relationships.push(...list(d['relationships']).filter((r) => r['relationshipType'] !== 'DESCRIBES'));
  });
  return out;
}

/** The SBOM bytes; equal inputs give equal bytes. Images are listed once each, sorted. */
export function renderSbom(o: SbomOptions): string {
  const unique = [...new Map(o.images.map((i) => [`${i.ref}\0${i.digest}`, i])).values()].sort((a, b) =>
    a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0,
  );
  const created = iso(o.created);
  const docs = o.documents ?? [];
  const seed = JSON.stringify({ created, images: unique, docs });
  const images = unique.map(pkg);
  const extra = merged(docs);
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'sbom',
    documentNamespace: `https://github.com/linuxkit/linuxkit/sbom-${uuidFrom(seed)}`,
    creationInfo: { licenseListVersion: '3.20', creators: ['Organization: LinuxKit', 'Tool: mobyts'], created },
    packages: [...images, ...extra.packages],
    ...(extra.files.length > 0 ? { files: extra.files } : {}),
    relationships: [
      ...images.map((p) => ({
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: p['SPDXID'],
      })),
      ...extra.relationships,
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
