// Runs the built CLI in this process and reports its peak resident memory on exit, so that the
// memory benchmark needs no external `time` tool.
process.on('exit', () => {
  process.stderr.write(`peak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
await import('../dist/cli.js');
