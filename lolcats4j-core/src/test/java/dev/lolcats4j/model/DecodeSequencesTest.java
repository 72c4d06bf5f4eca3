package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.generate.Sampler;
import dev.lolcats4j.kernels.VectorKernels;
import dev.lolcats4j.lolcats.Adapters;
import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.testing.ParityFixtures.Case;
import dev.lolcats4j.torch.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link DecoderModel#decodeSequences}: sequences of different lengths that join a running
 * batch at different steps each decode exactly as the float64 reference does alone (the
 * fixtures' greedy tokens), on both decode paths; and {@link DecoderModel#close}.
 */
class DecodeSequencesTest {

    static Stream<Case> greedyCases() {
        return ParityFixtures.cases().stream().filter(c -> c.greedy() != null);
    }

    static DecoderModel load(Case c, boolean kernels) {
        DecoderModel model = ModelLoader.load(c.model(), ComputeType.F32);
        if (c.adapter() != null) {
            Adapters.load(model, c.adapter());
        }
        boolean before = VectorKernels.enabled();
        VectorKernels.setEnabled(kernels);
        try {
            assertEquals(kernels ? DecodePath.KERNELS : DecodePath.LIBTORCH, model.pinDecodePath(),
                    String.valueOf(VectorKernels.unavailableReason()));
        } finally {
            VectorKernels.setEnabled(before);
        }
        return model;
    }

    /** One sequence of a continuous batch: its caches, its next token and its output. */
    private static final class Running {
        final List<LayerCache> caches;
        final List<Integer> out = new ArrayList<>();
        long next;
        long position;

        Running(DecoderModel model, int[] prompt) {
            caches = model.newCaches();
            long[] ids = new long[prompt.length];
            long[] positions = new long[prompt.length];
            for (int i = 0; i < prompt.length; i++) {
                ids[i] = prompt[i];
                positions[i] = i;
            }
            try (NoGradGuard g = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                Tensor logits = model.lastLogits(Tensors.ofLongs(ids, 1, ids.length), Tensors.ofLongs(positions, 1, ids.length),
                        AttentionContext.unpadded(), caches);
                take(Tensors.toFloats(logits.select(0, 0)));
            }
            position = prompt.length;
        }

        void take(float[] logits) {
            next = Sampler.argmax(logits);
            out.add((int) next);
        }
    }

    @ParameterizedTest(name = "{0}, kernels {1}")
    @MethodSource("pathsAndCases")
    void everySequenceOfARaggedBatchDecodesAsTheReferenceAlone(Case c, boolean kernels) {
        DecoderModel model = load(c, kernels);
        int steps = c.greedy().length;
        // The fixture's prompt, and a shorter and a longer one (prefixes/repeats of it) that
        // join after 0, 3 and 5 steps: the fixture's sequence must not notice them.
        int[] prompt = c.tokenIds();
        int[] shorter = java.util.Arrays.copyOf(prompt, 3);
        int[] longer = new int[prompt.length * 2 + 1];
        for (int i = 0; i < longer.length; i++) {
            longer[i] = prompt[(i * 7) % prompt.length];
        }
        List<Running> active = new ArrayList<>();
        Running target = new Running(model, prompt);
        active.add(target);
        Running late = null;
        for (int step = 1; step < steps; step++) {
            if (step == 3) {
                active.add(0, new Running(model, shorter));
            }
            if (step == 5) {
                late = new Running(model, longer);
                active.add(late);
            }
            long[] tokens = active.stream().mapToLong(r -> r.next).toArray();
            long[] positions = active.stream().mapToLong(r -> r.position).toArray();
            float[][] rows = model.decodeSequences(tokens, positions, active.stream().map(r -> r.caches).toList());
            for (int b = 0; b < active.size(); b++) {
                active.get(b).take(rows[b]);
                active.get(b).position++;
            }
            if (step == 8) {
                active.remove(0); // a sequence leaves mid-way
            }
        }
        assertArrayEquals(c.greedy(), target.out.stream().mapToInt(Integer::intValue).toArray(), c.name());
        // The late joiner decodes as it would alone.
        Running alone = new Running(model, longer);
        for (int step = 1; step < late.out.size(); step++) {
            float[][] rows = model.decodeSequences(new long[] {alone.next}, new long[] {alone.position}, List.of(alone.caches));
            alone.take(rows[0]);
            alone.position++;
        }
        assertEquals(alone.out, late.out, c.name() + ": late joiner");
        model.close();
    }

    static Stream<Object[]> pathsAndCases() {
        return greedyCases().flatMap(c -> Stream.of(new Object[] {c, true}, new Object[] {c, false}));
    }

    @Test
    void pinnedPathIgnoresTheProcessSwitch() {
        Case c = greedyCases().findFirst().orElseThrow();
        DecoderModel model = load(c, false);
        assertEquals(DecodePath.LIBTORCH, model.pinDecodePath());
        VectorKernels.setEnabled(true);
        assertEquals(DecodePath.LIBTORCH, model.decodePath(), "a pinned path stays");
        model.close();
    }

    @Test
    void closedModelRefusesWorkAndReleasesItsMemory() {
        ModelConfig config = ModelConfig.llama(512, 256, 688, 2, 4, 2);
        DecoderModel model = ModelFactory.random(config, ComputeType.F32, 7);
        model.pinDecodePath();
        Running r = new Running(model, new int[] {1, 2, 3});
        model.decodeSequences(new long[] {r.next}, new long[] {r.position}, List.of(r.caches));
        // A view of one weight shares the storage of every weight the decode step packed
        // together; once the model is closed, the view must be the storage's only user.
        Tensor probe = model.layers().get(0).projection("q_proj").weight().view(-1);
        Tensor lone = Tensors.zeros(Tensors.F32, 4).view(-1);
        long alone = lone.storage().use_count();
        assertTrue(probe.storage().use_count() > alone + 5, "the weights share one packed storage");
        model.close();
        // The model's own handles go at once; temporaries made outside a PointerScope by earlier
        // code in this JVM may still hold views until the garbage collector runs their deallocators.
        for (int i = 0; i < 50 && probe.storage().use_count() != alone; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        assertEquals(alone, probe.storage().use_count(), "handles to the weights left after close");
        assertThrows(IllegalStateException.class, model::newCaches);
        assertThrows(IllegalStateException.class,
                () -> model.decodeSequences(new long[] {1}, new long[] {3}, List.of(r.caches)));
        model.close(); // idempotent
    }
}
