/**
 * The bench specs: LinuxKit minimal.yml's shape (kernel, init, onboot, services, files) over the pushed
 * images. `version` changes one `files` entry, for the rebuild-after-one-change measurement.
 */
import type { PushedImage } from './generate.ts';

function containers(images: PushedImage[], role: 'onboot' | 'service'): string[] {
  return images.filter((i) => i.plan.role === role).flatMap((i) => [`  - name: ${i.plan.name}`, `    image: ${i.ref}`]);
}

/** YAML of the spec for `images`; `version` is the content of the `etc/bench/changed` file. */
export function specYaml(images: PushedImage[], version: number): string {
  const kernel = images.find((i) => i.plan.role === 'kernel');
  if (kernel === undefined) throw new Error('bench: a plan without a kernel image');
  const init = images.filter((i) => i.plan.role === 'init').map((i) => `  - ${i.ref}`);
  const onboot = containers(images, 'onboot');
  const services = containers(images, 'service');
  return [
    'kernel:',
    `  image: ${kernel.ref}`,
    '  cmdline: "console=ttyS0 console=tty0 page_poison=1"',
    ...(init.length > 0 ? ['init:', ...init] : []),
    ...(onboot.length > 0 ? ['onboot:', ...onboot] : []),
    ...(services.length > 0 ? ['services:', ...services] : []),
    'files:',
    '  - path: etc/bench/changed',
    `    contents: "version ${version}"`,
    '  - path: etc/bench/motd',
    '    contents: "mobyts bench\\n"',
    '    mode: "0644"',
    '  - path: var/lib/bench',
    '    directory: true',
    '',
  ].join('\n');
}
