/**
 * The image's SBOM (linuxkit.md §3.7): one SPDX 2.3 JSON document, written as the last tar entry.
 *
 * LinuxKit merges the SPDX attestations of the images it uses. The image sources we read do not expose
 * attestation manifests yet, so this document lists each image used (by expanded reference and manifest
 * digest, with its purl) as an SPDX package and makes no claim about what is inside — an honest, valid
 * document rather than a guessed one. Unlike LinuxKit's random UUID, `documentNamespace` is derived from the
 * inputs (the image list and the creation time), so default builds are reproducible.
 */
import { createHash } from 'node:crypto';

export interface SbomImage {
  /** Expanded reference, as written in the rootfs PAX records. */
  ref: string;
  /** Platform manifest digest. */
  digest: string;
}

export interface SbomOptions {
  images: SbomImage[];
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
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(img.ref, img.digest) }],
  };
}

/** The SBOM bytes; equal inputs give equal bytes. Images are listed once each, sorted. */
export function renderSbom(o: SbomOptions): string {
  const unique = [...new Map(o.images.map((i) => [`${i.ref}\0${i.digest}`, i])).values()].sort((a, b) =>
    a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
  const created = iso(o.created);
  const seed = JSON.stringify({ created, images: unique });
  const packages = unique.map(pkg);
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'sbom',
    documentNamespace: `https://github.com/linuxkit/linuxkit/sbom-${uuidFrom(seed)}`,
    creationInfo: { licenseListVersion: '3.20', creators: ['Organization: LinuxKit', 'Tool: mobyts'], created },
    packages,
    relationships: packages.map((p) => ({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: p['SPDXID'] })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
