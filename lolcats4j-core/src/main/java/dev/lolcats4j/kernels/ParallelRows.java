package dev.lolcats4j.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a range of rows on a fixed set of threads: the caller and daemon workers claim parts
 * of rows until none are left. Claiming (rather than fixed halves) matters because a worker
 * starts a few microseconds after the caller: with fixed halves the caller then waited ~20% of
 * every pass.
 *
 * <p>A decode step runs ~50 passes of 20-500 us each, so a worker spins for a while after each
 * pass instead of parking at once (a park/unpark round trip costs about as much as a small
 * pass) and parks only when the spin runs out. libtorch's OpenMP threads also spin after each
 * parallel region, so the decode step runs its libtorch calls on one thread (see the model's
 * VectorDecoder): otherwise they and these workers would share the cores, which measured 31 ms
 * per token instead of 15.
 */
final class ParallelRows {

    /** A part of the work: rows [from, to). */
    interface Body {
        void rows(int from, int to);
    }

    // Longer than one layer's attention in a decode step (~0.2 ms at short contexts), so that
    // workers are still awake for the next pass; the spinning core is otherwise idle then.
    private static final long SPIN_NANOS = 2_000_000;

    private final int threads;
    private final Worker[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile Body body;
    private volatile int totalRows;
    private volatile int chunkRows;
    private volatile Throwable failure;

    ParallelRows(int threads) {
        this.threads = Math.max(1, threads);
        this.workers = new Worker[this.threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over rows [0, rows) in parts of at least {@code chunk} rows; returns
     * when every row is done. The first failure of any thread is rethrown here.
     */
    synchronized void run(int rows, int chunk, Body task) {
        if (threads == 1 || rows <= chunk) {
            task.rows(0, rows);
            return;
        }
        body = task;
        totalRows = rows;
        chunkRows = Math.max(1, chunk);
        failure = null;
        next.set(0);
        pending.set(workers.length);
        generation++; // volatile write: publishes the fields above to the workers
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        Throwable own = null;
        try {
            claim(task, rows, chunkRows);
        } catch (Throwable t) {
            own = t;
            next.set(rows); // the others stop claiming
        }
        while (pending.get() != 0) {
            Thread.onSpinWait();
        }
        body = null;
        Throwable theirs = failure;
        if (own != null || theirs != null) {
            Throwable t = own != null ? own : theirs;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    /**
     * Guided self-scheduling: each claim takes half of an even share of what is left, never
     * less than {@code chunk} rows. Early parts are long (long sequential streams for the
     * kernels), the last ones short (the threads finish together).
     */
    private void claim(Body task, int rows, int chunk) {
        while (true) {
            int from = next.get();
            if (from >= rows) {
                return;
            }
            int size = Math.max(chunk, (rows - from) / (2 * threads));
            int to = Math.min(rows, from + size);
            if (next.compareAndSet(from, to)) {
                task.rows(from, to);
            }
        }
    }

    private final class Worker implements Runnable {
        private final Thread thread;
        private volatile boolean parked;

        Worker(int index) {
            this.thread = new Thread(this, "lolcats-rows-" + index);
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                long current;
                int spins = 0;
                while ((current = generation) == seen) {
                    if ((++spins & 63) != 0 || System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                        continue;
                    }
                    // Flag first, then re-check: run() either sees the flag or we see its generation.
                    parked = true;
                    if (generation == seen) {
                        LockSupport.park(this);
                    }
                    parked = false;
                    spinUntil = System.nanoTime() + SPIN_NANOS;
                }
                seen = current;
                try {
                    claim(body, totalRows, chunkRows);
                } catch (Throwable t) {
                    failure = t;
                    next.set(totalRows);
                }
                pending.decrementAndGet();
            }
        }
    }
}
