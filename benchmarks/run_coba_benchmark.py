#!/usr/bin/python3
"""Ketaplast vs Brian2 on the COBA benchmark (Brette et al. 2007, Benchmark 1).

What it measures
----------------
For every variant and thread count it runs

(a) Ketaplast (``KETAPLAST_CMD`` below; the binary defaults to
    ``build/release/ketaplast``, change with ``--ketaplast``), and reads
    ``OUT/summary.json``::

      {"populations": {"E": {"size", "spike_count", "mean_rate_Hz"}, "I": {...}},
       "timing": {"build_s", "simulate_s", "write_s", "total_s", "real_time_factor"},
       "memory": {"peak_rss_MB", "synapse_count", "synapse_bytes", "bytes_per_synapse"}}

    The harness also measures Ketaplast's whole-process wall time (``wall_s``)
    and the process's peak RSS from ``wait4`` (``wait_peak_rss_MB``).

(b) Brian2 2.5.1 cpp_standalone through ``benchmarks/coba_brian2.py`` with the
    same N, duration, threads and seed (run with Debian's ``/usr/bin/python3``).
    Every Brian2 run uses a fresh temporary build directory, so ``compile_s``
    is a full code generation + compilation.

and prints a markdown table (medians over ``--repeats``):

* Ketaplast: sim s (``timing.simulate_s``), total s (``timing.total_s``),
  wall s (whole process, measured here), peak MB (``memory.peak_rss_MB``),
  rates E/I (``mean_rate_Hz``), bytes per synapse.
* Brian2: compile s (codegen + compile), sim s (wall time of the standalone
  binary, incl. its synapse creation and result writing), total excl.
  compile s (whole script minus compile_s, i.e. incl. Python import and
  set-up), peak MB (standalone binary only), rates E/I.
* Ratios Brian2/Ketaplast: ``sim`` = Brian2 sim s / Ketaplast sim s;
  ``total`` = Brian2 total excl. compile s / Ketaplast wall s (both are
  whole-process times; Brian2's one-off compilation is left out).

The full per-run records and the medians are written as JSON to ``--out-json``.

Variants
--------
* ``coba4000``:  N = 4000, random connectivity p = 0.02 (the original
  benchmark; Ketaplast runs ``configs/coba.toml``).
* ``coba40000``: N = 40000, fixed in-degree K = 80 (64 E + 16 I per neuron);
  Ketaplast runs ``benchmarks/configs/coba40k.toml``.
Each variant's Ketaplast config and extra ``--set`` overrides are in
``VARIANTS`` below; ``--config`` replaces the config for all variants.

How to run (from the repository root)
--------------------------------------
::

    /usr/bin/python3 benchmarks/run_coba_benchmark.py    # both variants, 10 s, threads 1,2
    /usr/bin/python3 benchmarks/run_coba_benchmark.py --variants coba4000 --repeats 3 \\
        --out-json out/coba_benchmark.json
    /usr/bin/python3 benchmarks/run_coba_benchmark.py --brian-only --duration-s 1
    /usr/bin/python3 benchmarks/run_coba_benchmark.py --ketaplast build/release/ketaplast

Runs are sequential.  The machine has 2 cores: run nothing else meanwhile
(a compiler in the background can make 2-thread runs 2-10x slower).  Before each
run the harness samples CPU load for 0.5 s (``cpu_busy_before``), and after it
compares the machine's CPU time with the run's own (``foreign_cpu_s``: CPU
seconds other processes took meanwhile); both warn above ``--busy-limit``.
Look at ``foreign_cpu_s`` in the JSON before trusting a number.  Ketaplast
output directories are temporary and removed unless ``--keep-outputs DIR``
is given.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BRIAN_SCRIPT = os.path.join(HERE, 'coba_brian2.py')

# ---------------------------------------------------------------------------
# Ketaplast command line -- TEMPLATE, adjust here when the CLI changes.
# Placeholders: {binary} {config} {out} {threads} {duration_ms}.
# Per-variant config and extra overrides (each becomes "--set KEY=VALUE") are
# in VARIANTS.
# The command runs with the repository root as working directory.
# ---------------------------------------------------------------------------
KETAPLAST_CMD = [
    '{binary}', 'run', '{config}',
    '--out', '{out}',
    '--threads', '{threads}',
    '--set', 'simulation.duration_ms={duration_ms}',
]

# Variants: N and connectivity for Brian2; config and extra --set for Ketaplast.
VARIANTS = {
    'coba4000': {
        'n': 4000,
        'fixed_indegree': None,             # Brian2: connect(p=0.02), no autapses
        'ketaplast_config': 'configs/coba.toml',
        'ketaplast_set': [],
    },
    'coba40000': {
        'n': 40000,
        'fixed_indegree': 80,               # 64 from E + 16 from I per neuron
        'ketaplast_config': 'benchmarks/configs/coba40k.toml',
        'ketaplast_set': [],
    },
    # The plastic benchmark: COBA 4000 with pair STDP on E->E (configs/coba_stdp.toml; Brian2 --stdp).
    'coba_stdp': {
        'n': 4000,
        'fixed_indegree': None,
        'ketaplast_config': 'configs/coba_stdp.toml',
        'ketaplast_set': ['recording.snapshot_times_ms=[]'],
        'brian_args': ['--stdp'],
    },
}


class BenchmarkError(RuntimeError):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _cpu_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open('/proc/stat') as f:
            vals = [int(x) for x in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        return sum(vals) - idle, sum(vals)
    except (OSError, ValueError, IndexError):
        return None


def cpu_busy_fraction(interval=0.5):
    """Fraction of all CPUs busy during `interval` s, or None (no /proc/stat)."""
    j0 = _cpu_jiffies()
    time.sleep(interval)
    j1 = _cpu_jiffies()
    if j0 is None or j1 is None or j1[1] <= j0[1]:
        return None
    return (j1[0] - j0[0]) / (j1[1] - j0[1])


def check_quiet(label, busy_limit):
    """Sample the CPU load before a run and warn when the machine is busy."""
    busy = cpu_busy_fraction()
    if busy is not None and busy > busy_limit:
        log('warning: CPU %.0f%% busy before %s -- timings will be skewed'
            % (100 * busy, label))
    return busy


def run_timed(cmd, cwd=None):
    """Run cmd; return dict(returncode, stdout, stderr, wall_s, peak_rss_MB,
    cpu_s, foreign_cpu_s).

    Output goes to temporary files (not pipes) so that the child can be reaped
    with os.wait4: its rusage covers the child and its waited-for descendants
    (peak RSS = largest process in that tree; cpu_s = their user+sys time).
    foreign_cpu_s = CPU time the whole machine spent meanwhile minus cpu_s,
    i.e. what other processes took -- a contamination indicator.
    """
    with tempfile.TemporaryFile('w+') as fout, tempfile.TemporaryFile('w+') as ferr:
        j0 = _cpu_jiffies()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fout, stderr=ferr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        j1 = _cpu_jiffies()
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        foreign = None
        if j0 is not None and j1 is not None:
            foreign = max(0.0, (j1[0] - j0[0]) / os.sysconf('SC_CLK_TCK') - cpu)
        return {'returncode': proc.returncode, 'stdout': fout.read(), 'stderr': ferr.read(),
                'wall_s': wall, 'peak_rss_MB': usage.ru_maxrss / 1024.0,
                'cpu_s': cpu, 'foreign_cpu_s': foreign}


def warn_if_contended(label, rec, limit):
    """Warn when other processes used more than `limit` of a core meanwhile
    (and at least 0.2 CPU-s, so that very short runs do not warn on noise)."""
    f = rec.get('foreign_cpu_s')
    if f is not None and f > 0.2 and f / rec['wall_s'] > limit:
        log('warning: other processes used %.1f CPU-s during %s (%.1f s wall) '
            '-- timings are skewed' % (f, label, rec['wall_s']))


def tail(text, lines=30):
    return '\n'.join(text.strip().splitlines()[-lines:])


def _need(d, path):
    cur = d
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            raise BenchmarkError('summary.json lacks %s' % '.'.join(path))
        cur = cur[key]
    return cur


def check_ketaplast(binary, configs):
    if not os.path.isfile(binary):
        raise BenchmarkError(
            'Ketaplast binary not found: %s\n'
            'Build it first (release build, e.g. build/release/ketaplast), pass '
            '--ketaplast PATH, or use --brian-only.' % binary)
    if not os.access(binary, os.X_OK):
        raise BenchmarkError('Ketaplast binary is not executable: %s' % binary)
    for config in configs:
        if not os.path.isfile(os.path.join(REPO, config)):
            raise BenchmarkError('Ketaplast config not found: %s' % config)


def run_ketaplast(binary, config, variant, threads, duration_s, keep_dir=None, tag=''):
    spec = VARIANTS[variant]
    out = tempfile.mkdtemp(prefix='ketaplast_coba_')
    fields = dict(binary=binary, config=config, out=out, threads=threads,
                  duration_ms='%g' % (duration_s * 1000.0))
    cmd = [part.format(**fields) for part in KETAPLAST_CMD]
    for kv in spec['ketaplast_set']:
        cmd += ['--set', kv]
    try:
        res = run_timed(cmd, cwd=REPO)
        if res['returncode'] != 0:
            raise BenchmarkError('Ketaplast failed (exit %d): %s\n%s'
                                 % (res['returncode'], ' '.join(cmd),
                                    tail(res['stderr'] + res['stdout'])))
        path = os.path.join(out, 'summary.json')
        if not os.path.isfile(path):
            raise BenchmarkError('Ketaplast wrote no %s (command: %s)' % (path, ' '.join(cmd)))
        with open(path) as f:
            summary = json.load(f)
        rec = {
            'command': cmd,
            'wall_s': res['wall_s'],
            'wait_peak_rss_MB': res['peak_rss_MB'],
            'cpu_s': res['cpu_s'],
            'foreign_cpu_s': res['foreign_cpu_s'],
            'simulate_s': _need(summary, ['timing', 'simulate_s']),
            'total_s': _need(summary, ['timing', 'total_s']),
            'build_s': _need(summary, ['timing', 'build_s']),
            'write_s': _need(summary, ['timing', 'write_s']),
            'real_time_factor': _need(summary, ['timing', 'real_time_factor']),
            'peak_rss_MB': _need(summary, ['memory', 'peak_rss_MB']),
            'synapse_count': _need(summary, ['memory', 'synapse_count']),
            'synapse_bytes': _need(summary, ['memory', 'synapse_bytes']),
            'bytes_per_synapse': _need(summary, ['memory', 'bytes_per_synapse']),
            'rate_E_Hz': _need(summary, ['populations', 'E', 'mean_rate_Hz']),
            'rate_I_Hz': _need(summary, ['populations', 'I', 'mean_rate_Hz']),
            'size_E': _need(summary, ['populations', 'E', 'size']),
            'size_I': _need(summary, ['populations', 'I', 'size']),
            'summary': summary,
        }
        n = rec['size_E'] + rec['size_I']
        if n != spec['n']:
            raise BenchmarkError('Ketaplast ran N=%d for variant %s (expected %d); '
                                 'check the --set overrides in VARIANTS'
                                 % (n, variant, spec['n']))
        return rec
    finally:
        if keep_dir:
            dest = os.path.join(keep_dir, 'ketaplast_%s_t%d%s' % (variant, threads, tag))
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(out, dest)
        else:
            shutil.rmtree(out, ignore_errors=True)


def run_brian(python, variant, threads, duration_s, seed):
    spec = VARIANTS[variant]
    cmd = [python, BRIAN_SCRIPT, '--n', str(spec['n']), '--duration-s', '%g' % duration_s,
           '--threads', str(threads), '--json']
    if spec['fixed_indegree']:
        cmd += ['--fixed-indegree', str(spec['fixed_indegree'])]
    if seed is not None:
        cmd += ['--seed', str(seed)]
    cmd += spec.get('brian_args', [])
    res = run_timed(cmd)
    if res['returncode'] != 0:
        raise BenchmarkError('Brian2 run failed (exit %d): %s\n%s'
                             % (res['returncode'], ' '.join(cmd),
                                tail(res['stderr'] + res['stdout'])))
    lines = [l for l in res['stdout'].splitlines() if l.startswith('{')]
    if not lines:
        raise BenchmarkError('Brian2 script printed no JSON: %s\n%s'
                             % (' '.join(cmd), tail(res['stderr'] + res['stdout'])))
    rec = json.loads(lines[-1])
    rec.update(command=cmd, wall_s=res['wall_s'], cpu_s=res['cpu_s'],
               foreign_cpu_s=res['foreign_cpu_s'])
    return rec


def median(records, key):
    vals = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return a / b if a is not None and b else None


def summarize(variant, threads, k_runs, b_runs):
    row = {'variant': variant, 'threads': threads,
           'repeats_ketaplast': len(k_runs), 'repeats_brian2': len(b_runs)}
    for key in ('simulate_s', 'total_s', 'wall_s', 'build_s', 'peak_rss_MB', 'wait_peak_rss_MB',
                'rate_E_Hz', 'rate_I_Hz', 'bytes_per_synapse', 'synapse_count'):
        row['ketaplast_' + key] = median(k_runs, key)
    for key in ('compile_s', 'simulate_s', 'network_run_s', 'total_excl_compile_s',
                'total_s', 'peak_rss_MB', 'rate_E_Hz', 'rate_I_Hz',
                'rate_E_Hz_after_1s', 'rate_I_Hz_after_1s', 'synapse_count'):
        row['brian2_' + key] = median(b_runs, key)
    for prefix, recs in (('ketaplast_', k_runs), ('brian2_', b_runs)):
        sims = [r['simulate_s'] for r in recs]
        row[prefix + 'simulate_s_min'] = min(sims) if sims else None
        row[prefix + 'simulate_s_max'] = max(sims) if sims else None
        foreign = [r['foreign_cpu_s'] for r in recs if r.get('foreign_cpu_s') is not None]
        row[prefix + 'foreign_cpu_s_max'] = max(foreign) if foreign else None
    if b_runs:
        row['brian2_integration_method'] = b_runs[0].get('integration_method')
    row['ratio_sim_brian2_over_ketaplast'] = ratio(row['brian2_simulate_s'],
                                                   row['ketaplast_simulate_s'])
    row['ratio_total_brian2_over_ketaplast'] = ratio(row['brian2_total_excl_compile_s'],
                                                     row['ketaplast_wall_s'])
    return row


COLUMNS = [
    ('variant', 'variant', '%s'),
    ('threads', 'threads', '%d'),
    ('K sim s', 'ketaplast_simulate_s', '%.3f'),
    ('K total s', 'ketaplast_total_s', '%.3f'),
    ('K wall s', 'ketaplast_wall_s', '%.3f'),
    ('K peak MB', 'ketaplast_peak_rss_MB', '%.1f'),
    ('K rate E/I Hz', ('ketaplast_rate_E_Hz', 'ketaplast_rate_I_Hz'), '%.2f'),
    ('B2 compile s', 'brian2_compile_s', '%.2f'),
    ('B2 sim s', 'brian2_simulate_s', '%.3f'),
    ('B2 total-excl-compile s', 'brian2_total_excl_compile_s', '%.3f'),
    ('B2 peak MB', 'brian2_peak_rss_MB', '%.1f'),
    ('B2 rate E/I Hz', ('brian2_rate_E_Hz', 'brian2_rate_I_Hz'), '%.2f'),
    ('B2/K sim', 'ratio_sim_brian2_over_ketaplast', '%.2f'),
    ('B2/K total', 'ratio_total_brian2_over_ketaplast', '%.2f'),
    ('K bytes/syn', 'ketaplast_bytes_per_synapse', '%.1f'),
]


def fmt(fmt_str, val):
    return '-' if val is None else fmt_str % val


def markdown_table(rows):
    out = ['| ' + ' | '.join(c[0] for c in COLUMNS) + ' |',
           '|' + '|'.join('---' for _ in COLUMNS) + '|']
    for row in rows:
        cells = []
        for _, key, f in COLUMNS:
            if isinstance(key, tuple):
                cells.append('/'.join(fmt(f, row.get(k)) for k in key))
            else:
                cells.append(fmt(f, row.get(key)))
        out.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Ketaplast vs Brian2 COBA benchmark')
    p.add_argument('--variants', default='coba4000,coba40000',
                   help='comma-separated, from: %s' % ','.join(VARIANTS))
    p.add_argument('--duration-s', type=float, default=10.0, help='simulated seconds (default 10)')
    p.add_argument('--threads', default='1,2', help='comma-separated thread counts (default 1,2)')
    p.add_argument('--repeats', type=int, default=1, help='runs per cell; the median is reported')
    p.add_argument('--seed', type=int, default=1, help='seed passed to Brian2 (default 1)')
    p.add_argument('--ketaplast', default=os.path.join('build', 'release', 'ketaplast'),
                   help='Ketaplast binary (relative to the repo root; '
                        'default build/release/ketaplast)')
    p.add_argument('--config', default=None,
                   help="Ketaplast config for every variant (relative to the repo root; "
                        "default: each variant's own, see VARIANTS)")
    p.add_argument('--brian-python', default='/usr/bin/python3',
                   help="interpreter with Debian's Brian2 2.5.1 (default /usr/bin/python3)")
    p.add_argument('--brian-only', action='store_true', help='skip Ketaplast')
    p.add_argument('--ketaplast-only', action='store_true', help='skip Brian2')
    p.add_argument('--keep-outputs', metavar='DIR', default=None,
                   help='move Ketaplast output directories into DIR')
    p.add_argument('--busy-limit', type=float, default=0.1,
                   help='warn when the CPUs are busier than this fraction before a run, or other '
                        'processes take more than this fraction of a core during it (default 0.1)')
    p.add_argument('--out-json', default=None, help='write runs and table rows as JSON here')
    args = p.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    for v in args.variants:
        if v not in VARIANTS:
            p.error('unknown variant %r (known: %s)' % (v, ', '.join(VARIANTS)))
    try:
        args.threads = [int(t) for t in args.threads.split(',') if t.strip()]
    except ValueError:
        p.error('--threads must be a comma-separated list of integers')
    if args.repeats < 1:
        p.error('--repeats must be >= 1')
    if args.brian_only and args.ketaplast_only:
        p.error('--brian-only and --ketaplast-only exclude each other')
    return args


def main(argv=None):
    args = parse_args(argv)
    binary = args.ketaplast
    if not os.path.isabs(binary):
        binary = os.path.join(REPO, binary)
    try:
        if not args.brian_only:
            check_ketaplast(binary, [args.config or VARIANTS[v]['ketaplast_config']
                                     for v in args.variants])
        if not args.ketaplast_only and not os.path.isfile(args.brian_python):
            raise BenchmarkError('Brian2 interpreter not found: %s' % args.brian_python)
        if args.keep_outputs:
            os.makedirs(args.keep_outputs, exist_ok=True)

        rows, runs = [], []
        for variant in args.variants:
            for threads in args.threads:
                k_runs, b_runs = [], []
                for rep in range(args.repeats):
                    tag = '_r%d' % rep
                    if not args.brian_only:
                        label = '[%s t=%d rep %d] ketaplast' % (variant, threads, rep)
                        busy = check_quiet(label, args.busy_limit)
                        log(label + ' ...')
                        config = args.config or VARIANTS[variant]['ketaplast_config']
                        r = run_ketaplast(binary, config, variant, threads, args.duration_s,
                                          args.keep_outputs, tag)
                        r['cpu_busy_before'] = busy
                        warn_if_contended(label, r, args.busy_limit)
                        log('    sim %.3f s, wall %.3f s' % (r['simulate_s'], r['wall_s']))
                        k_runs.append(r)
                        runs.append(dict(r, simulator='ketaplast', variant=variant,
                                         threads=threads, repeat=rep))
                    if not args.ketaplast_only:
                        label = '[%s t=%d rep %d] brian2' % (variant, threads, rep)
                        busy = check_quiet(label, args.busy_limit)
                        log(label + ' ...')
                        r = run_brian(args.brian_python, variant, threads,
                                      args.duration_s, args.seed)
                        r['cpu_busy_before'] = busy
                        warn_if_contended(label, r, args.busy_limit)
                        log('    compile %.2f s, sim %.3f s, rates %.2f/%.2f Hz'
                            % (r['compile_s'], r['simulate_s'], r['rate_E_Hz'], r['rate_I_Hz']))
                        b_runs.append(r)
                        runs.append(dict(r, variant=variant, threads=threads, repeat=rep))
                rows.append(summarize(variant, threads, k_runs, b_runs))
    except BenchmarkError as e:
        log('error: %s' % e)
        return 2

    table = markdown_table(rows)
    print('COBA benchmark, %g s simulated, median of %d repeat(s)\n'
          % (args.duration_s, args.repeats))
    print(table)
    if args.out_json:
        d = os.path.dirname(os.path.abspath(args.out_json))
        os.makedirs(d, exist_ok=True)
        with open(args.out_json, 'w') as f:
            json.dump({'duration_s': args.duration_s, 'repeats': args.repeats,
                       'seed': args.seed, 'ketaplast_binary': None if args.brian_only else binary,
                       'rows': rows, 'runs': runs, 'markdown': table}, f, indent=2)
        log('wrote %s' % args.out_json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
