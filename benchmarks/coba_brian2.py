#!/usr/bin/python3
"""Brian2 peer of Ketaplast's COBA benchmark (Brette et al. 2007, Benchmark 1).

What it runs
------------
The conductance-based (COBA) network of Brette et al. 2007 (J Comput Neurosci
23:349), Benchmark 1, after Vogels & Abbott 2005, in Brian2's ``cpp_standalone``
mode:

* N LIF neurons (default 4000), the first 80 % excitatory (E), the rest
  inhibitory (I).  Cm = 200 pF, gL = 10 nS (taum = 20 ms), El = -60 mV,
  Vt = -50 mV, Vr = -60 mV, refractory 5 ms (v clamped, ge/gi keep decaying).
* Conductance synapses: Ee = 0 mV, Ei = -80 mV, taue = 5 ms, taui = 10 ms,
  jumps we = 6 nS (E sources), wi = 67 nS (I sources).
* Delay: no extra delay (Brian's default 0 ms).  In Brian2's schedule a spike
  detected in step n increments ge/gi in step n (``synapses`` slot) and is
  seen by the membrane update of step n+1, i.e. an effective delay of one dt.
* dt = 0.1 ms.  Membrane and conductances are integrated with
  ``method='exponential_euler'`` (Brian accepts it for these equations; the
  method Brian actually chose is reported as ``integration_method``).
* Connectivity, default: ``connect(condition='i != j', p=0.02)`` (random,
  no autapses).  ``--fixed-indegree K``: every neuron receives exactly
  0.8*K synapses from distinct E neurons and 0.2*K from distinct I neurons
  (drawn without replacement, no autapses), generated with numpy from --seed
  (used for the 40,000-neuron scaled variant).
* Initial conditions as in Brette 2007 / Brian1 ``COBA.py``:
  v = -60 mV + (randn*5 - 5) mV, ge = (randn*1.5 + 4)*10 nS,
  gi = (randn*12 + 20)*10 nS.

What it measures
----------------
* ``compile_s``: code generation + compilation
  (``device.build(compile=True, run=False)`` with ``build_on_run=False``).
  A fresh build directory (the default: a temporary one) means a full
  compilation; a re-used ``--outdir`` lets ``make`` skip unchanged objects.
* ``simulate_s``: wall time of the standalone binary (``./main``) alone,
  including its start-up, loading of static arrays (synapse indices for
  --fixed-indegree) and writing of results.  ``network_run_s`` is Brian's own
  timer around the network loop (results/last_run_info.txt).
* ``device_run_s``: wall time of ``device.run`` (binary + Brian's checks).
* ``total_s``: whole script wall time: ``import_s`` (brian2 import),
  ``setup_s`` (network description in Python, incl. numpy connectivity for
  --fixed-indegree), compile, run, ``readout_s`` (loading results), clean-up.
  ``total_excl_compile_s`` = ``total_s - compile_s``.
* ``peak_rss_MB``: peak RSS of the standalone binary only.  The binary is run
  through a tiny wrapper (Brian's ``run_cmd_unix`` preference) which reads
  ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (KB -> MB) after waiting for it;
  measuring this in the main process instead would also count the compiler
  (cc1plus), which dwarfs the simulation for N = 4000.
* ``rate_E_Hz`` / ``rate_I_Hz`` over the whole run, and ``*_after_1s`` over
  t >= 1 s (PopulationRateMonitor per population; cheap per step).
* ``synapse_count`` (E->all + I->all).
Brian2's own profiling stays off (``profile=False``).

How to run
----------
Use Debian's Brian2 2.5.1, i.e. ``/usr/bin/python3`` (not a pyenv python)::

    /usr/bin/python3 benchmarks/coba_brian2.py --n 4000 --duration-s 1 --threads 1
    /usr/bin/python3 benchmarks/coba_brian2.py --duration-s 10 --threads 2 --json
    /usr/bin/python3 benchmarks/coba_brian2.py --n 40000 --fixed-indegree 80 --json

``--threads T`` sets ``prefs.devices.cpp_standalone.openmp_threads`` (0 =
code generated without OpenMP; 1 = OpenMP code with one thread).  With
``--json`` a single JSON object is printed on stdout (Brian's messages go to
stderr).  The temporary build directory is deleted at the end (also on
failure) unless ``--keep`` is given; an explicit ``--outdir`` is never deleted.

Pitfalls
--------
* Caching: standalone mode has no global cache (no ~/.cython use), but a
  re-used ``--outdir`` keeps object files, so ``compile_s`` drops; use the
  default temporary directory or ``--clean`` for a full compile.
* Brian compiles with its default flags ``-O3 -ffast-math -march=native``
  (reported as ``compile_flags``).
* With ``--threads >= 2`` Brian draws random numbers per thread, so the same
  --seed gives a different network/initial state than with 0 or 1 thread
  (rates differ by ~1 Hz); 0 and 1 give identical results.
* OpenMP with 2 threads on a 2-core machine is very sensitive to any other
  load (barrier spinning): the run can be several times slower.
* Only population rates are recorded (no spike raster is written).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

T_START = time.perf_counter()

# Runs the standalone binary as its only child, then records the binary's wall
# time and peak RSS (RUSAGE_CHILDREN, i.e. of ./main alone) to a JSON file.
# Invoked by Brian as: python -c WRAPPER <stats.json> ./main [run_args...]
_RUN_WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], 'w') as f:
    json.dump({'wall_s': wall, 'maxrss_kb': ru.ru_maxrss, 'returncode': rc,
               'user_s': ru.ru_utime, 'sys_s': ru.ru_stime}, f)
sys.exit(rc)
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Brette et al. 2007 COBA benchmark in Brian2 cpp_standalone')
    p.add_argument('--n', type=int, default=4000, help='number of neurons (default 4000)')
    p.add_argument('--duration-s', type=float, default=10.0,
                   help='simulated time in seconds (default 10)')
    p.add_argument('--threads', type=int, default=1,
                   help='prefs.devices.cpp_standalone.openmp_threads (default 1; 0 = no OpenMP)')
    p.add_argument('--p', type=float, default=0.02,
                   help='connection probability for the random variant (default 0.02)')
    p.add_argument('--fixed-indegree', type=int, default=None, metavar='K',
                   help='instead of p: each neuron gets exactly 0.8K E and 0.2K I inputs')
    p.add_argument('--seed', type=int, default=None,
                   help='seed for Brian (initial conditions, p-connectivity) and numpy '
                        '(fixed-indegree connectivity); default: unseeded')
    p.add_argument('--outdir', default=None,
                   help='standalone build directory (default: a fresh temporary directory)')
    p.add_argument('--keep', action='store_true',
                   help='keep the temporary build directory')
    p.add_argument('--clean', action='store_true',
                   help='force a full rebuild (make clean) when re-using --outdir')
    p.add_argument('--delay-ms', type=float, default=0.0,
                   help='synaptic delay (default 0, Brette et al. 2007). 0.1 reproduces the timing of '
                        'Ketaplast\'s one-step minimum delay (spike in step n acts from step n+2 in both)')
    p.add_argument('--refractory-ms', type=float, default=5.0,
                   help='refractory period (default 5, Brette et al. 2007). Brian2 stamps a spike at the start '
                        'of the step in which v crosses threshold and clamps v for refractory - dt after that '
                        'step; Ketaplast (like NEST) stamps it at the end of the step and clamps for the full '
                        'refractory period. 5.1 gives the same 50 clamped steps as Ketaplast at 5 ms')
    p.add_argument('--stdp', action='store_true',
                   help='pair-based STDP on E->E (as configs/coba_stdp.toml: additive, A+ 0.005, '
                        'A- 0.00525, tau 20 ms, w in [0, 12] nS)')
    p.add_argument('--json', action='store_true', help='print one JSON object on stdout')
    args = p.parse_args(argv)
    if args.n < 2:
        p.error('--n must be at least 2')
    if args.threads < 0:
        p.error('--threads must be >= 0')
    if args.fixed_indegree is not None:
        k = args.fixed_indegree
        ne, ni = int(0.8 * args.n), args.n - int(0.8 * args.n)
        ke, ki = int(round(0.8 * k)), k - int(round(0.8 * k))
        if k <= 0 or ke > ne - 1 or ki > ni - 1:
            p.error('--fixed-indegree %d impossible for N=%d (needs %d<%d E, %d<%d I)'
                    % (k, args.n, ke, ne, ki, ni))
    return args


def fixed_indegree_pairs(n_src, n_tgt, k, src_offset, rng):
    """Sources for a fixed in-degree projection, as (i, j) index arrays.

    Every target j in [0, n_tgt) receives exactly k distinct sources i in
    [0, n_src) (indices local to the source population).  The source with
    global index src_offset + i == j is excluded (no autapses): samples are
    drawn from n_src - 1 candidates and indices >= the excluded one shifted up.
    """
    import numpy as np
    i = np.empty(n_tgt * k, dtype=np.int32)
    for j in range(n_tgt):
        own = j - src_offset  # local index of the target in the source population
        if 0 <= own < n_src:
            s = rng.choice(n_src - 1, size=k, replace=False)
            s[s >= own] += 1
        else:
            s = rng.choice(n_src, size=k, replace=False)
        i[j * k:(j + 1) * k] = s
    j = np.repeat(np.arange(n_tgt, dtype=np.int32), k)
    return i, j


def main(argv=None):
    args = parse_args(argv)

    # Warnings go to stderr anyway; silence the known noisy deprecation
    # warnings that Debian's pythran/numpy emit when brian2 is imported.
    warnings.filterwarnings('ignore', category=FutureWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)

    tmp_created = args.outdir is None
    outdir = os.path.abspath(args.outdir or tempfile.mkdtemp(prefix='coba_brian2_'))
    os.makedirs(outdir, exist_ok=True)
    try:
        result = run_benchmark(args, outdir)
    finally:
        if tmp_created and not args.keep:
            shutil.rmtree(outdir, ignore_errors=True)
    if tmp_created and not args.keep:
        result['build_dir'] = None
    result['total_s'] = time.perf_counter() - T_START
    result['total_excl_compile_s'] = result['total_s'] - result['compile_s']

    if args.json:
        print(json.dumps(result))
    else:
        for key, val in result.items():
            if isinstance(val, float):
                val = round(val, 4)
            print('%-22s %s' % (key, val))
    return 0


def run_benchmark(args, outdir):
    """Build the network, compile and run it in `outdir`; return the result dict."""
    t0 = time.perf_counter()
    import numpy as np
    import brian2
    from brian2 import (NeuronGroup, Synapses, PopulationRateMonitor, Network,
                        defaultclock, device, prefs, seed as brian_seed,
                        set_device, ms, mV, nS, pF, second)
    import_s = time.perf_counter() - t0

    n = args.n
    ne = int(0.8 * n)
    ni = n - ne
    stats_path = os.path.join(outdir, 'binary_run_stats.json')
    if os.path.exists(stats_path):
        os.remove(stats_path)

    set_device('cpp_standalone', directory=outdir, build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = args.threads
    prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, '-c', _RUN_WRAPPER,
                                                 stats_path, './main']
    defaultclock.dt = 0.1 * ms
    if args.seed is not None:
        brian_seed(args.seed)

    t_setup0 = time.perf_counter()
    namespace = dict(Cm=200 * pF, gL=10 * nS, El=-60 * mV, Vt=-50 * mV, Vr=-60 * mV,
                     Ee=0 * mV, Ei=-80 * mV, taue=5 * ms, taui=10 * ms,
                     we=6 * nS, wi=67 * nS, NE=ne)
    eqs = '''
    dv/dt  = (gL*(El - v) + ge*(Ee - v) + gi*(Ei - v)) / Cm : volt (unless refractory)
    dge/dt = -ge / taue : siemens
    dgi/dt = -gi / taui : siemens
    '''
    P = NeuronGroup(n, eqs, threshold='v > Vt', reset='v = Vr', refractory=args.refractory_ms * ms,
                    method='exponential_euler', namespace=namespace, name='P')
    P.v = 'El + (randn()*5 - 5)*mV'
    P.ge = '(randn()*1.5 + 4)*10*nS'
    P.gi = '(randn()*12 + 20)*10*nS'
    Pe = P[:ne]
    Pi = P[ne:]

    Ce = Synapses(Pe, P, on_pre='ge += we', namespace=namespace, name='Ce')
    Ci = Synapses(Pi, P, on_pre='gi += wi', namespace=namespace, name='Ci')
    plastic = []
    if args.stdp:
        # E->E plastic, E->I static (Ketaplast: projections EE with plasticity, EI). Same semantics as
        # Ketaplast's rule (models/stdp.hpp): plasticity at the somatic spike times (a separate pathway
        # without the transmission delay), transmit then depress at a pre spike, pre before post within a
        # step; traces are event-driven per synapse (Brian2's standard STDP form).
        if args.fixed_indegree is not None:
            raise SystemExit('--stdp is implemented for the p-connectivity variant only')
        namespace.update(wmax=12 * nS, taupre=20 * ms, taupost=20 * ms,
                         dApre=0.005 * 12 * nS, dApost=-0.00525 * 12 * nS)
        Cee = Synapses(Pe, Pe, model='''w : siemens
                       dapre/dt = -apre / taupre : siemens (event-driven)
                       dapost/dt = -apost / taupost : siemens (event-driven)''',
                       on_pre={'pre': 'ge_post += w',
                               'plasticity': 'apre += dApre\nw = clip(w + apost, 0*nS, wmax)'},
                       on_post='apost += dApost\nw = clip(w + apre, 0*nS, wmax)',
                       namespace=namespace, name='Cee')
        Cei = Synapses(Pe, Pi, on_pre='ge += we', namespace=namespace, name='Cei')
        Cee.connect(condition='i != j', p=args.p)
        Cee.w = 'we'
        Cei.connect(p=args.p)
        Ci.connect(condition='i + NE != j', p=args.p)
        connectivity = {'kind': 'random', 'p': args.p, 'autapses': False, 'stdp': 'E->E'}
        if args.delay_ms > 0:
            Cee.pre.delay = args.delay_ms * ms
            Cei.delay = args.delay_ms * ms
            Ci.delay = args.delay_ms * ms
        plastic = [Cee, Cei]
    elif args.fixed_indegree is None:
        # i is local to the source subgroup, j global: autapse <=> offset + i == j
        Ce.connect(condition='i != j', p=args.p)
        Ci.connect(condition='i + NE != j', p=args.p)
        connectivity = {'kind': 'random', 'p': args.p, 'autapses': False}
    else:
        k = args.fixed_indegree
        ke = int(round(0.8 * k))
        ki = k - ke
        rng = np.random.default_rng(args.seed)
        ie, je = fixed_indegree_pairs(ne, n, ke, 0, rng)
        ii, ji = fixed_indegree_pairs(ni, n, ki, ne, rng)
        Ce.connect(i=ie, j=je)
        Ci.connect(i=ii, j=ji)
        connectivity = {'kind': 'fixed_indegree', 'K': k, 'K_E': ke, 'K_I': ki,
                        'autapses': False}
    if args.delay_ms > 0 and not args.stdp:
        Ce.delay = args.delay_ms * ms
        Ci.delay = args.delay_ms * ms

    rate_e = PopulationRateMonitor(Pe, name='rate_E')
    rate_i = PopulationRateMonitor(Pi, name='rate_I')
    net = Network(P, Ci, rate_e, rate_i, *(plastic if args.stdp else [Ce]))
    net.run(args.duration_s * second, profile=False)
    setup_s = time.perf_counter() - t_setup0
    method = P.state_updater.method_choice

    t0 = time.perf_counter()
    device.build(directory=outdir, compile=True, run=False, with_output=False,
                 clean=args.clean)
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    device.run(outdir, with_output=False, run_args=[])
    device_run_s = time.perf_counter() - t0
    with open(stats_path) as f:
        run_stats = json.load(f)

    t0 = time.perf_counter()

    dt_s = float(defaultclock.dt / second)
    t = np.asarray(rate_e.t / second)
    re = np.asarray(rate_e.rate / brian2.Hz)
    ri = np.asarray(rate_i.rate / brian2.Hz)
    late = t >= 1.0 - dt_s / 2
    n_syn_e = sum(int(c.N[:]) for c in plastic) if args.stdp else int(Ce.N[:])
    n_syn_i = int(Ci.N[:])

    readout_s = time.perf_counter() - t0

    def mean_or_none(a):
        return float(a.mean()) if a.size else None

    result = {
        'simulator': 'brian2',
        'brian2_version': brian2.__version__,
        'device': 'cpp_standalone',
        'integration_method': method,
        'N': n, 'N_E': ne, 'N_I': ni,
        'duration_s': args.duration_s,
        'dt_ms': dt_s * 1e3,
        'threads': args.threads,
        'seed': args.seed,
        'connectivity': connectivity,
        'synaptic_delay_ms': args.delay_ms,
        'synapse_count': n_syn_e + n_syn_i,
        'synapse_count_E': n_syn_e,
        'synapse_count_I': n_syn_i,
        'spike_count_E': int(round(re.sum() * dt_s * ne)),
        'spike_count_I': int(round(ri.sum() * dt_s * ni)),
        'rate_E_Hz': mean_or_none(re),
        'rate_I_Hz': mean_or_none(ri),
        'rate_E_Hz_after_1s': mean_or_none(re[late]),
        'rate_I_Hz_after_1s': mean_or_none(ri[late]),
        'import_s': import_s,
        'setup_s': setup_s,
        'compile_s': compile_s,
        'simulate_s': run_stats['wall_s'],
        'network_run_s': getattr(device, '_last_run_time', None),
        'device_run_s': device_run_s,
        'readout_s': readout_s,
        'peak_rss_MB': run_stats['maxrss_kb'] / 1024.0,
        'build_dir': outdir,
        'compile_flags': list(prefs.codegen.cpp.extra_compile_args_gcc),
    }
    return result


if __name__ == '__main__':
    sys.exit(main())
