// Runs the built CLI in this process and reports its peak resident memory on exit, so that the
// memory benchmark needs no external `time` tool. On Linux the peak is VmHWM of /proc/self/status,
// which belongs to this program's own address space: getrusage's maxRSS survives fork and exec,
// so it would report the benchmark process's own peak (GiBs of test arrays) when that was larger.
import { readFileSync } from 'node:fs';

function peakKiB() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // Not Linux: fall through to getrusage.
  }
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  process.stderr.write(`peak-rss-kib ${peakKiB()}\n`);
});
await import('../dist/cli.js');
