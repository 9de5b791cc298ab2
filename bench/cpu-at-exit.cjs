// Preloaded by bench/whole-path.ts (`node -r bench/cpu-at-exit.cjs ...`): at exit, writes the process's CPU time (user
// and system microseconds, all its threads: getrusage RUSAGE_SELF) to the file named by XDP_LENS_BENCH_CPU_OUT.
// /usr/bin/time reports hundredths of a second, 33 ns a packet at 300,000 packets; this is microseconds.
'use strict';
const out = process.env.XDP_LENS_BENCH_CPU_OUT;
if (out) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    require('node:fs').writeFileSync(out, `${u.user} ${u.system}\n`);
  });
}
