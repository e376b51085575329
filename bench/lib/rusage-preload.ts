/**
 * Preloaded (`node --import`) into the measured CLI when GNU time is missing: writes this process's
 * resource usage to $BENCH_RUSAGE_FILE at exit (user/system CPU in µs, maxRSS in KiB).
 */
import { writeFileSync } from 'node:fs';

const file = process.env['BENCH_RUSAGE_FILE'];
if (file !== undefined)
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(process.resourceUsage()));
  });
