/**
 * Checks across entries and across files, run on all files of a build together (docs/linuxkit-behaviour.md#image-entry,
 * #volumes, #multiple-files, #ids): duplicate service and volume names, binds and mounts that name volumes, uid/gid
 * names, and a kernel section without an image. Unlike LinuxKit, volumes from every file stay referencable.
 */
import type { Issue, SpecPath } from './issues.ts';
import type { SpecSource } from './source.ts';
import { didYouMean } from './suggest.ts';
import { CONTAINER_SECTIONS } from './types.ts';
import { isObj, listAt, objAt, strAt, stringItems, type Obj } from './values.ts';

/** One parsed file: its source (for positions) and its plain value. */
export interface SpecUnit {
  src: SpecSource;
  value: unknown;
}

interface Site {
  unit: SpecUnit;
  path: SpecPath;
}
interface Volume extends Site {
  readonly: boolean;
}

function where(site: Site): string {
  const i = site.unit.src.issue(site.path, '');
  return `${i.file}:${i.line}:${i.col}`;
}

function entries(units: readonly SpecUnit[], sections: readonly string[]): (Site & { entry: Obj })[] {
  const out: (Site & { entry: Obj })[] = [];
  for (const section of sections) {
    for (const unit of units) {
      listAt(unit.value, section).forEach((entry, i) => {
        if (isObj(entry)) out.push({ unit, path: [section, i], entry });
      });
    }
  }
  return out;
}

function duplicates(issues: Issue[], sites: (Site & { name: string })[], what: string): void {
  const first = new Map<string, Site>();
  for (const s of sites) {
    const prev = first.get(s.name);
    if (prev === undefined) first.set(s.name, s);
    else
      issues.push(
        s.unit.src.issue(
          [...s.path, 'name'],
          `duplicate ${what} name "${s.name}" (first defined at ${where({ unit: prev.unit, path: [...prev.path, 'name'] })})`,
        ),
      );
  }
}

function collectVolumes(units: readonly SpecUnit[]): Map<string, Volume> {
  const out = new Map<string, Volume>();
  for (const unit of units) {
    listAt(unit.value, 'volumes').forEach((v, i) => {
      const name = strAt(v, 'name');
      if (name !== undefined && !out.has(name))
        out.set(name, { unit, path: ['volumes', i], readonly: isObj(v) && v['readonly'] === true });
    });
  }
  return out;
}

function volumeRef(issues: Issue[], site: Site, source: string, vols: Map<string, Volume>): Volume | undefined {
  const vol = vols.get(source);
  if (vol === undefined) {
    const hint =
      vols.size === 0
        ? 'declare it under volumes:, or use an absolute host path'
        : `declared volumes: ${[...vols.keys()].join(', ')}`;
    issues.push(
      site.unit.src.issue(site.path, `volume "${source}" is not defined${didYouMean(source, vols.keys())}`, { hint }),
    );
  }
  return vol;
}

const RO_HINT = 'bind it read-only, e.g. "NAME:/dest:ro"';

function checkBinds(issues: Issue[], site: Site & { entry: Obj }, vols: Map<string, Volume>): void {
  for (const key of ['binds', 'binds.add']) {
    for (const [bind, i] of stringItems(site.entry, key)) {
      const parts = bind.split(':');
      const source = parts[0] ?? '';
      if (source.startsWith('/') || source === '' || parts.length < 2) continue;
      const path = [...site.path, key, i];
      const vol = volumeRef(issues, { unit: site.unit, path }, source, vols);
      if (vol?.readonly === true && parts[2] !== 'ro') {
        issues.push(
          site.unit.src.issue(
            path,
            `volume "${source}" is read-only, but attempting to write into container read-write`,
            { hint: RO_HINT.replace('NAME', source) },
          ),
        );
      }
    }
  }
  listAt(site.entry, 'mounts').forEach((m, i) => {
    const source = strAt(m, 'source');
    if (strAt(m, 'type') !== 'bind' || source === undefined || source.startsWith('/')) return;
    const path = [...site.path, 'mounts', i, 'source'];
    const vol = volumeRef(issues, { unit: site.unit, path }, source, vols);
    const opts = listAt(m, 'options').filter((o) => o === 'ro' || o === 'rw');
    if (vol?.readonly === true && opts[0] !== 'ro') {
      issues.push(
        site.unit.src.issue(
          path,
          `volume "${source}" is read-only, but attempting to write into container read-write`,
          { hint: 'add "ro" to options, before any "rw"' },
        ),
      );
    }
  });
}

function checkId(issues: Issue[], site: Site, value: unknown, names: Set<string>): void {
  if (typeof value !== 'string' || value === '' || value === 'root' || names.has(value)) return;
  const hint = /^[0-9]+$/.test(value)
    ? `write it as a number, without quotes: ${value}`
    : 'use a number, "root", or the name of an onboot, onshutdown or service container';
  issues.push(
    site.unit.src.issue(site.path, `cannot find id "${value}": no container has that name${didYouMean(value, names)}`, {
      hint,
    }),
  );
}

function checkIds(issues: Issue[], units: readonly SpecUnit[], names: Set<string>): void {
  for (const site of entries(units, CONTAINER_SECTIONS)) {
    for (const key of ['uid', 'gid'])
      checkId(issues, { unit: site.unit, path: [...site.path, key] }, site.entry[key], names);
    listAt(site.entry, 'additionalGids').forEach((g, i) =>
      checkId(issues, { unit: site.unit, path: [...site.path, 'additionalGids', i] }, g, names),
    );
  }
  for (const site of entries(units, ['files'])) {
    for (const key of ['uid', 'gid'])
      checkId(issues, { unit: site.unit, path: [...site.path, key] }, site.entry[key], names);
  }
}

function checkKernel(issues: Issue[], units: readonly SpecUnit[]): void {
  const kernels = units.flatMap((unit) => {
    const k = objAt(unit.value, 'kernel');
    return k === undefined ? [] : [{ unit, k }];
  });
  if (kernels.length === 0 || kernels.some(({ k }) => typeof k['image'] === 'string' && k['image'] !== '')) return;
  for (const { unit, k } of kernels) {
    if (k['image'] === undefined || k['image'] === '') {
      issues.push(
        unit.src.issue(['kernel'], 'kernel section without an image', {
          hint: 'add image: linuxkit/kernel:<tag>, or remove the kernel section',
        }),
      );
    }
  }
}

/** Every cross-entry rule over the files of one build, in order. */
export function crossIssues(units: readonly SpecUnit[]): Issue[] {
  const issues: Issue[] = [];
  const containers = entries(units, CONTAINER_SECTIONS);
  const names = new Set(
    containers.flatMap((c) => {
      const n = strAt(c.entry, 'name');
      return n === undefined ? [] : [n];
    }),
  );
  const named = (sites: (Site & { entry: Obj })[]): (Site & { name: string })[] =>
    sites.flatMap((s) => {
      const n = strAt(s.entry, 'name');
      return n === undefined ? [] : [{ ...s, name: n }];
    });
  duplicates(issues, named(entries(units, ['services'])), 'service');
  duplicates(issues, named(entries(units, ['volumes'])), 'volume');
  const vols = collectVolumes(units);
  for (const site of containers) checkBinds(issues, site, vols);
  checkIds(issues, units, names);
  checkKernel(issues, units);
  return issues;
}
