/**
 * File names a shell, a glob, an option parser or a tool's own syntax (xorriso's patterns, mksquashfs's pseudo
 * files, mtools' targets) would read as something else than a path: the tests hand them to every tool.
 */
export const ODD_NAMES = [
  '[',
  '*',
  '?',
  '-rf',
  'a b',
  'ünï☃',
  'back\\slash',
  "it's",
  'q"uote',
  'tab\tx',
  '[ab]',
  '{x,y}',
  '~user',
  '$HOME',
  '--',
  '#hash',
  'semi;colon',
  'trailing ',
];
