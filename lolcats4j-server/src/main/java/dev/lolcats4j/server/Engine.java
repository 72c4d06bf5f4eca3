package dev.lolcats4j.server;

import dev.lolcats4j.generate.Sampler;
import dev.lolcats4j.generate.SamplingConfig;
import dev.lolcats4j.model.AttentionContext;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.LayerCache;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Continuous batching: one thread runs every model call. Each iteration it prefills waiting
 * sessions up to a budget of {@value #PREFILL_TOKENS_PER_STEP} prompt tokens, a long prompt
 * a piece at a time over several iterations (so an 8K-token prompt delays the running
 * sessions by one piece per step, not by its whole prefill, and its prefill memory is bounded
 * by the piece), drops finished and cancelled sessions, then steps every running session
 * together ({@link DecoderModel#decodeSequences}): each weight is read once per step for
 * all of them, and each sequence attends over its own caches (a fixed-size LoLCATs state, or
 * a softmax KV cache).
 *
 * <p>Admission: at most {@code maxSessions} sessions exist at once (running or waiting for
 * one of the {@code maxBatch} places in the batch); {@link #submit} refuses more with 429
 * rather than letting memory grow.
 */
public final class Engine implements AutoCloseable {

    /** Prompt tokens prefilled between two decode steps, at most. */
    static final int PREFILL_TOKENS_PER_STEP = 1024;

    private final DecoderModel model;
    private final int prefillTokensPerStep;
    private final int maxBatch;
    private final int maxContextTokens;
    private final Semaphore slots;
    private final int maxSessions;
    private final LinkedBlockingQueue<Session> waiting = new LinkedBlockingQueue<>();
    private final List<Running> running = new ArrayList<>();
    /** The session whose prompt is being prefilled, a piece per iteration; null if none. */
    private Running prefilling;
    private final Set<Integer> eos;
    private final Consumer<String> log;
    private final Thread loop;
    private volatile boolean stopping;
    private volatile int runningCount;
    private volatile long steps;
    private volatile long decodeNanos;
    private volatile long decodedTokens;

    /** A session in the batch: its caches, sampler and progress. */
    private static final class Running {
        final Session session;
        final Sampler sampler;
        final List<LayerCache> caches;
        long position;
        long next;
        int generated;
        /** Prompt tokens in the caches so far. */
        int prefilled;

        Running(Session session, List<LayerCache> caches) {
            this.session = session;
            this.sampler = new Sampler(session.sampling);
            this.caches = caches;
        }
    }

    public Engine(ServedModel served, int maxSessions, int maxBatch, Consumer<String> log) {
        this(served, maxSessions, maxBatch, log, PREFILL_TOKENS_PER_STEP);
    }

    /** With another prefill budget per step (tests use small ones to cut prompts into pieces). */
    Engine(ServedModel served, int maxSessions, int maxBatch, Consumer<String> log, int prefillTokensPerStep) {
        this.prefillTokensPerStep = prefillTokensPerStep;
        this.model = served.model();
        this.maxBatch = maxBatch;
        this.maxSessions = maxSessions;
        this.maxContextTokens = served.maxContextTokens();
        this.slots = new Semaphore(maxSessions);
        this.eos = Set.copyOf(model.config().eosTokenIds());
        this.log = log;
        this.loop = new Thread(this::run, "lolcats-decode-loop");
        loop.setDaemon(true);
        loop.start();
    }

    /**
     * Queues a generation. The prompt must be non-empty, in the vocabulary, and leave room
     * in the context (the caller checks).
     *
     * @throws ApiException 429 when {@code maxSessions} sessions exist already
     */
    public Session submit(int[] prompt, SamplingConfig sampling) {
        if (stopping) {
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
        if (!slots.tryAcquire()) {
            throw new ApiException(429, "rate_limit_error", null, "too_many_sessions",
                    "the server runs " + maxSessions + " sessions at once (--max-sessions); retry later");
        }
        Session session = new Session(prompt, sampling);
        waiting.add(session);
        return session;
    }

    /** Sessions in the batch now. */
    public int running() {
        return runningCount;
    }

    /** Sessions admitted and not yet finished (running or waiting for a place in the batch). */
    public int sessions() {
        return maxSessions - slots.availablePermits();
    }

    /** Decode steps run so far. */
    public long steps() {
        return steps;
    }

    /** Time spent in decode steps so far (prefills excluded). */
    public long decodeNanos() {
        return decodeNanos;
    }

    /** Tokens produced by decode steps so far (one per sequence per step; first tokens come from prefills). */
    public long decodedTokens() {
        return decodedTokens;
    }

    private void run() {
        dev.lolcats4j.torch.Natives.init(); // this thread's denormal flushing (see Natives.init)
        try (NoGradGuard noGrad = new NoGradGuard()) {
            while (!stopping) {
                try {
                    iterate();
                } catch (InterruptedException e) {
                    break;
                } catch (RuntimeException | Error e) {
                    // A failure inside a step poisons that step's sessions, not the server.
                    log.accept("decode step failed: " + e);
                    for (Running r : running) {
                        finish(r, new Session.End(null, "internal error: " + e.getMessage()));
                    }
                    running.clear();
                    runningCount = 0;
                }
            }
        }
        for (Running r : running) {
            finish(r, new Session.End(null, "the server is shutting down"));
        }
        if (prefilling != null) {
            finish(prefilling, new Session.End(null, "the server is shutting down"));
            prefilling = null;
        }
        Session s;
        while ((s = waiting.poll()) != null) {
            s.emit(new Session.End(null, "the server is shutting down"));
            slots.release();
        }
    }

    private void iterate() throws InterruptedException {
        int budget = prefillTokensPerStep;
        while (budget > 0) {
            if (prefilling == null) {
                boolean idle = running.isEmpty();
                Session joining = idle ? waiting.poll(50, TimeUnit.MILLISECONDS)
                        : running.size() < maxBatch ? waiting.poll() : null;
                if (joining == null) {
                    break;
                }
                prefilling = start(joining);
                if (prefilling == null) {
                    continue;
                }
            }
            budget -= prefillPiece(budget);
        }
        running.removeIf(r -> {
            if (r.session.isCancelled()) {
                finish(r, null);
                return true;
            }
            return false;
        });
        runningCount = running.size();
        if (running.isEmpty()) {
            return;
        }
        int batch = running.size();
        long[] tokens = new long[batch];
        long[] positions = new long[batch];
        List<List<LayerCache>> caches = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            Running r = running.get(b);
            tokens[b] = r.next;
            positions[b] = r.position;
            caches.add(r.caches);
        }
        long start = System.nanoTime();
        float[][] logits = model.decodeSequences(tokens, positions, caches);
        decodeNanos += System.nanoTime() - start;
        decodedTokens += batch;
        steps++;
        List<Running> done = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            Running r = running.get(b);
            r.position++;
            if (take(r, logits[b])) {
                done.add(r);
            }
        }
        running.removeAll(done);
        runningCount = running.size();
    }

    /** A new session with empty caches, or null (slot released) if it was cancelled while waiting. */
    private Running start(Session session) {
        if (session.isCancelled()) {
            session.emit(new Session.End(null, "cancelled"));
            slots.release();
            return null;
        }
        Running r = new Running(session, model.newCaches());
        // The most positions it can reach: a KV cache then allocates once, not doubling at the end.
        long positions = Math.min((long) session.prompt.length + session.sampling.maxNewTokens(), maxContextTokens);
        r.caches.forEach(c -> c.expectPositions(positions));
        return r;
    }

    /**
     * Prefills the next piece of {@link #prefilling}'s prompt, at most {@code budget} tokens.
     * After the last piece the session emits its first token and joins the batch unless
     * already done. Returns the tokens prefilled (at least one, so the loop advances).
     */
    private int prefillPiece(int budget) {
        Running r = prefilling;
        if (r.session.isCancelled()) {
            prefilling = null;
            finish(r, null);
            return 1;
        }
        int n = r.session.prompt.length;
        int from = r.prefilled;
        int count = Math.max(1, Math.min(budget, n - from));
        float[] logits;
        try (PointerScope scope = new PointerScope()) {
            long[] ids = new long[count];
            long[] positions = new long[count];
            for (int i = 0; i < count; i++) {
                ids[i] = r.session.prompt[from + i];
                positions[i] = from + i;
            }
            Tensor last = model.lastLogits(Tensors.ofLongs(ids, 1, count), Tensors.ofLongs(positions, 1, count),
                    new AttentionContext(null, from), r.caches);
            r.prefilled = from + count;
            logits = r.prefilled == n ? Tensors.toFloats(last.select(0, 0)) : null;
        } catch (RuntimeException e) {
            log.accept("prefill failed: " + e);
            prefilling = null;
            r.session.emit(new Session.End(null, "internal error: " + e.getMessage()));
            slots.release();
            return count;
        }
        if (logits != null) {
            prefilling = null;
            r.position = n;
            if (!take(r, logits)) {
                running.add(r);
                runningCount = running.size();
            }
        }
        return count;
    }

    /** Samples the next token and emits it; true when the session is finished (and released). */
    private boolean take(Running r, float[] logits) {
        int token = r.sampler.next(logits);
        r.generated++;
        r.next = token;
        r.session.emit(new Session.Token(token));
        if (eos.contains(token)) {
            finish(r, new Session.End("stop", null));
            return true;
        }
        if (r.generated >= r.session.sampling.maxNewTokens() || r.position + 1 >= maxContextTokens) {
            finish(r, new Session.End("length", null));
            return true;
        }
        return false;
    }

    private void finish(Running r, Session.End end) {
        if (end != null) {
            r.session.emit(end);
        } else {
            r.session.emit(new Session.End(null, "cancelled"));
        }
        slots.release();
    }

    /** Stops the loop (ending every session) and waits for it. */
    @Override
    public void close() {
        stopping = true;
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
