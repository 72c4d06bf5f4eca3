package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.testing.ParityFixtures;
import dev.lolcats4j.torch.Tensors;
import java.nio.file.Path;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A bf16 checkpoint loaded for float32 matmuls keeps its matrices in bf16 (for the decode
 * kernels) and multiplies with float32 copies made once at load; the products equal those of
 * converting the weight at every call (the float64 parity itself is checked by ParityTest).
 */
class MatmulCopyTest {

    static Path model(String name) {
        return ParityFixtures.root().resolve("models").resolve(name);
    }

    @Test
    void bf16CheckpointForFloat32KeepsBf16WeightsAndFloat32Copies() {
        DecoderModel model = ModelLoader.load(model("llama3-bf16-tied"), ComputeType.F32);
        assertEquals(ComputeType.F32, model.computeType());
        for (DecoderLayer layer : model.layers()) {
            for (String name : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}) {
                Projection p = layer.projection(name);
                assertTrue(Tensors.same(Tensors.BF16, p.weight().scalar_type()), name);
                assertTrue(p.hasMatmulCopy(), name);
                assertTrue(Tensors.same(Tensors.F32, p.matmulScalarType()), name);
                assertTrue(p.kernelReadable(), name + ": the decode kernels read the bf16 weight");
            }
        }
        assertTrue(model.lmHead().hasMatmulCopy());

        DecoderModel bf16 = ModelLoader.load(model("llama3-bf16-tied"), ComputeType.BF16);
        assertFalse(bf16.layers().get(0).projection("q_proj").hasMatmulCopy());
        assertEquals(ComputeType.BF16, bf16.computeType());
        DecoderModel f32 = ModelLoader.load(model("llama-f32"), ComputeType.F32);
        assertFalse(f32.layers().get(0).projection("q_proj").hasMatmulCopy());
        assertTrue(Tensors.same(Tensors.F32, f32.layers().get(0).projection("q_proj").weight().scalar_type()));
    }

    @Test
    void copiesGiveTheSameLogitsAsConvertingAtEveryCall() {
        DecoderModel model = ModelLoader.load(model("llama3-bf16-tied"), ComputeType.F32);
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor ids = Tensors.ofLongs(new long[] {1, 7, 42, 3, 99, 5, 17, 23}, 1, 8);
            float[] withCopies = Tensors.toFloats(model.forward(ids));
            model.setMatmulType(Tensors.F32); // drops the copies: weight.to(f32) at every call
            assertFalse(model.layers().get(0).projection("q_proj").hasMatmulCopy());
            float[] perCall = Tensors.toFloats(model.forward(ids));
            assertEquals(withCopies.length, perCall.length);
            for (int i = 0; i < perCall.length; i++) {
                assertEquals(perCall[i], withCopies[i], 1e-5, "logit " + i);
            }
        }
    }
}
