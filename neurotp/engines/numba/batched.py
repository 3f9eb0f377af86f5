"""The batched Numba engine: B copies of the circuit, the step as matrix-matrix products,
the copies shared among worker threads.

The step of :mod:`neurotp.engines.batched_reference` (the same order), with the copies' work
on each projection done as GEMMs on the state arrays in place (:func:`numba.blas.gemm
<neurotp.engines.numba.blas.gemm>`: BLAS on strided blocks, α and β):

- current: cur[:, post] += X · Wᵀ, X (B × pre) the copies' delayed presynaptic rates read in
  the ring buffer ``hist`` (L, B, N) (a block with row stride N), added straight into the
  currents (β = 1); a diagonal projection that no rule of the drive changes is d ⊙ x instead,
  and the current from the clamped input is held while its inputs, weights and bias stay
  (:mod:`neurotp.engines.numba.batched_plan`);
- plasticity: the B rank-one updates of a rule, Σ_b η·(ca_b ⊗ av_b − cb_b ⊗ bv_b), are one or
  two products Pᵀ·S added into W with α = η / B_live (the mean over the copies with a
  sample), P the copies' coefficient rows and S the pre-side signal read in place (``hist``
  or ``tr``); a rule with bounds goes through a buffer and is clipped.

``threads`` (default: every core this process may use) is the number of worker threads,
at most B: each runs the cached ``nogil`` kernel :func:`~neurotp.engines.numba.
batched_kernel.run_batched` on its share of the copies, and they meet at barriers
(:mod:`neurotp.engines.numba.sync`); BLAS runs one thread in each. Any thread count gives
the numbers of one thread, bit for bit (tested). No ``parallel=True`` kernel is involved, so
the kernels cache like the single-copy ones (a ``parallel`` kernel called from a cached one
segfaulted when loaded from the cache, numba issue #8578). Stimulus frames,
``protocol.label_delay``, compartments and stream mode run as in the single-copy engines.
Oja's rule (it reads Wᵀp, a product over all rows) and delay blocks are batch-1 devices and
are refused. ``docs/engines.md`` has where a step's time goes.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.batching import (
    batch_of,
    batched_state,
    refuse_recording,
    rounds,
    unround,
)
from neurotp.engines.numba.batched_kernel import (
    BatchDrive,
    BatchScratch,
    Worker,
    run_batched,
    stop_others,
)
from neurotp.engines.numba.batched_plan import (
    diagonal_projections,
    held_projections,
    rule_touches,
)
from neurotp.engines.numba.batched_rates import rate_segments
from neurotp.engines.numba.sync import new_sync
from neurotp.engines.numba.tables import (
    check_dtype,
    lowering,
    projection_table,
    rule_rows,
    rules_open,
    state_arrays,
    trace_table,
    unit_table,
)


@functools.cache
def blas_controller():
    """One ``threadpoolctl`` controller for the process, made after SciPy's BLAS (the one
    :mod:`neurotp.engines.numba.blas` calls) is loaded: a new ``threadpool_limits`` per drive
    scans the loaded libraries again, 1.6 ms each time."""
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS so the controller sees it
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def default_threads() -> int:
    """Every core this process may use, at most ``OMP_NUM_THREADS`` when that is set to a
    whole number: the usual limit on a library's threads, which Dask sets to 1 in its
    workers (``distributed.nanny.pre-spawn-environ``), so a sweep's points do not start two
    threads each on a worker that has one core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if limit.isdigit() and int(limit) >= 1:
        return min(cores, int(limit))
    return cores


@functools.cache
def _pool(n: int):
    """A process-wide pool of n threads for the workers past the first (the caller runs it)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="neurotp-batch")


class BatchedNumbaEngine(Engine):
    """B = ``protocol.batch`` copies on the Numba kernels (module docstring); ``threads``:
    worker threads, at most B (default :func:`default_threads`)."""

    name = "numba"

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        threads: int | None = None,
        block_steps: int | str | None = None,
    ):
        check_dtype(dtype)
        if block_steps not in (None, 1):
            raise ValueError(
                f"block_steps: {block_steps!r}; delay blocks are a batch-1 device, the batched "
                "engine runs the plain step; allowed: leave --block-steps out with "
                "protocol.batch > 1"
            )
        oja = [n for n, f in zip(comp.rule_names, comp.rules.form, strict=True) if f == OJA]
        if oja:
            raise ValueError(
                f"rules ({oja[0]}).kind: oja is not batched on numba (it reads Wᵀp over all "
                "rows); allowed: protocol.batch 1, or --backend reference"
            )
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"threads: {threads!r}; allowed: a whole number >= 1")
        self.threads = default_threads() if threads is None else int(threads)
        self.batch = batch_of(comp)
        dt = np.dtype(dtype).type
        super().__init__(
            comp, dtype, state if state is not None else batched_state(comp, self.batch, dt)
        )
        zeros = np.zeros(len(comp.proj_names), dtype=np.int64)
        self._units = unit_table(comp)
        self._projs = projection_table(comp, zeros, zeros)
        self._traces = trace_table(comp)
        self._lowered = lowering(comp)
        self._step_open = rules_open(comp)
        self._segments = rate_segments(comp)
        self._touches = rule_touches(comp)
        self.hold = True  # hold input currents between steps (batched_plan); False: never
        self.product_flops = 0.0  # the products' floating-point operations done so far
        self._made: dict[int, tuple[BatchScratch, list[Worker]]] = {}

    def _scratch(self, workers: int) -> tuple[BatchScratch, list[Worker]]:
        """The work arrays, made once per worker count and reset for each drive (what a
        drive reads before it writes: the non-finite reports, the versions, the counters,
        the barrier phases)."""
        made = self._made.get(workers)
        if made is None:
            made = self._made[workers] = self._new_scratch(workers)
        scr, wks = made
        wks[0].sync[:] = 0
        for wk in wks:
            wk.hold_ver[:] = -1
            wk.row_ver[:] = -1
            wk.flops[:] = 0.0
        return scr, wks

    def _new_scratch(self, workers: int) -> tuple[BatchScratch, list[Worker]]:
        c, B = self.comp, self.batch
        wdt = self.state.w.dtype
        max_post = int(max(c.proj_post_n.max(initial=0), 1))
        max_w = int(max((c.proj_pre_n * c.proj_post_n).max(initial=0), 1))
        n_rules = len(c.rule_names)
        clamped = np.zeros((B, c.n_units), dtype=np.bool_)
        clamped[:, c.input_off : c.input_off + c.input_n] = True
        scr = BatchScratch(
            np.empty((B, c.n_units), dtype=wdt),
            clamped,
            np.zeros((n_rules, 2 * B, max_post), dtype=wdt),
            np.zeros((n_rules, B, max_post), dtype=wdt),
            np.empty((B, max_post), dtype=wdt),
            np.empty((B, max_post), dtype=wdt),
            np.empty((B, c.n_units), dtype=wdt),
        )
        sync = new_sync(workers)
        wks = [
            Worker(
                w,
                workers,
                sync,
                np.empty(max_w, dtype=wdt),
                np.full(len(c.proj_names), -1, dtype=np.int64),
                np.full(self.state.hist.shape[0], -1, dtype=np.int64),
                np.zeros(1),
            )
            for w in range(workers)
        ]
        return scr, wks

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        refuse_recording(record_every)
        c, s = self.comp, self.state
        rd = rounds(c, drive, self.batch)
        labels = rd.labels if rd.labels is not None else np.zeros((*rd.active.shape, 0))
        diagonal = diagonal_projections(c, s.w, bool(drive.learn))
        bd = BatchDrive(
            np.ascontiguousarray(rd.stim, dtype=np.float64),
            np.ascontiguousarray(labels, dtype=np.float64),
            rd.active,
            rd.noise,
            self._step_open,
            bool(drive.clamp),
            bool(drive.learn),
            int(c.present_steps),
            int(c.steps_per_presentation),
            int(c.readout_win[0]),
            int(c.readout_win[1]),
            int(drive.frames),
            int(c.label_steps),
            not bool(np.isfinite(rd.stim).all()),
            diagonal,
            self._segments,
            held_projections(c, diagonal) & self.hold,
            self._touches,
        )
        means = np.zeros((*rd.active.shape, c.n_units))
        rules = rule_rows(c, self._lowered)  # the step factors as they are now
        workers = min(self.threads, self.batch)
        scr, wks = self._scratch(workers)
        args = (state_arrays(s), s.t, self._units, self._projs, self._traces, rules, bd, scr)
        with blas_controller().limit(limits=1, user_api="blas"):
            status, t, unit = self._run_workers(args, means, wks)
        self.product_flops += float(sum(wk.flops[0] for wk in wks))
        s.t = int(t)
        if status != 0:
            raise self._divergence(s.t, int(unit))
        means /= c.readout_win[1] - c.readout_win[0]
        return RunResult(means=unround(c, means, rd.index, drive.n_presentations))

    @staticmethod
    def _run_workers(args: tuple, means: np.ndarray, wks: list[Worker]) -> tuple:
        """Worker 0 on this thread, the others on the pool; a worker that raises stops the
        others at their next barrier, and its exception is raised here. Of the workers that
        found a non-finite rate, the earliest step wins, then the lowest copies (the lowest
        worker): what one thread finds (:func:`first_divergence`)."""
        if len(wks) == 1:
            return run_batched(*args, means, wks[0])

        def one(wk: Worker) -> tuple:
            try:
                return run_batched(*args, means, wk)
            except BaseException:
                stop_others(wk)
                raise

        futures = [_pool(len(wks) - 1).submit(one, wk) for wk in wks[1:]]
        first: BaseException | None = None
        results: list[tuple] = []
        try:
            results.append(one(wks[0]))
        except BaseException as exc:  # noqa: BLE001 - re-raised once the others stopped
            first = exc
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as exc:  # noqa: BLE001
                first = first or exc
        if first is not None:
            raise first
        return first_divergence(results)


def first_divergence(results: list[tuple]) -> tuple:
    """The drive's outcome from every worker's (status, t, unit), in worker order: done (0)
    if all are; else the non-finite report (1) of the earliest step, the lowest worker among
    those at that step (its copies are the lowest). A worker stopped by another's report (2)
    stops only at a barrier the reporter never reached (:func:`~neurotp.engines.numba.sync.
    barrier`), after the reporter's step: it has checked that step and every one before."""
    bad = [(int(t), i) for i, (status, t, _) in enumerate(results) if status == 1]
    if bad:
        return results[min(bad)[1]]
    if any(int(status) != 0 for status, _, _ in results):
        raise RuntimeError(f"batched workers stopped without a reason: {results}")
    return results[0]
