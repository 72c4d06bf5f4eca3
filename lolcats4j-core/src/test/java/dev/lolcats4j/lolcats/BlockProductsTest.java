package dev.lolcats4j.lolcats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lolcats4j.model.ComputeType;
import dev.lolcats4j.model.DecoderLayer;
import dev.lolcats4j.model.DecoderModel;
import dev.lolcats4j.model.ModelLoader;
import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * bf16 block products ({@link BlockProducts#BF16}): output and gradients stay within bf16's
 * precision of the float64 definition (HybridFormsTest's loop reference and the float64
 * chunked form's gradients), and the rounding really happens (they are not the exact values).
 * Training picks them exactly when its matmuls are bf16.
 */
class BlockProductsTest {

    private static final int B = 2;
    private static final int H = 3;
    private static final int D = 8;

    @BeforeAll
    static void natives() {
        Natives.init();
    }

    /** max |a - b| relative to max |b|. */
    private static double relativeError(Tensor actual, Tensor expected) {
        return actual.sub(expected).abs().max().item_double() / expected.abs().max().item_double();
    }

    @ParameterizedTest
    @EnumSource(AttentionKind.class)
    void bf16ProductsStayWithinBf16PrecisionOfTheDefinition(AttentionKind kind) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7 + kind.ordinal());
            int n = 45;
            int window = 8;
            HybridParams p = HybridFormsTest.randomParams(kind, FeatureMapKind.SOFTMAX_DIM, window, 8, true);
            p.featureQ().weight().requires_grad_(true);
            p.featureK().weight().requires_grad_(true);
            Tensor q = HybridFormsTest.random(B, H, n, D).requires_grad_(true);
            Tensor k = HybridFormsTest.random(B, H, n, D).requires_grad_(true);
            Tensor v = HybridFormsTest.random(B, H, n, D).requires_grad_(true);
            Tensor expected = HybridFormsTest.Reference.attention(p, q.detach(), k.detach(), v.detach());
            Tensor weights = HybridFormsTest.random(B, H, n, D);

            Tensor exact = HybridKernels.chunked(p, q, k, v, null, BlockProducts.INPUT);
            Tensor[] exactGrads = grads(exact, weights, q, k, v, p);
            Tensor rounded = HybridKernels.chunked(p, q, k, v, null, BlockProducts.BF16);
            Tensor[] roundedGrads = grads(rounded, weights, q, k, v, p);

            assertTrue(relativeError(exact, expected) < 1e-10, "INPUT products are the float64 definition");
            double outError = relativeError(rounded, expected);
            // bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%); a handful of
            // roundings per output stays well inside 2%.
            assertTrue(outError < 2e-2, "bf16 products: output error " + outError);
            assertTrue(outError > 1e-6, "bf16 products must actually round (error " + outError + ")");
            for (int i = 0; i < exactGrads.length; i++) {
                // ||g_bf16 - g|| / ||g||: a gradient direction off by a few percent at most.
                double gradError = roundedGrads[i].sub(exactGrads[i]).norm().item_double() / exactGrads[i].norm().item_double();
                assertTrue(gradError < 3e-2, "gradient " + i + ": relative L2 error " + gradError);
            }
            assertTrue(Tensors.same(Tensors.F64, rounded.scalar_type()), "results come back in the inputs' dtype");
        }
    }

    private static Tensor[] grads(Tensor y, Tensor weights, Tensor q, Tensor k, Tensor v, HybridParams p) {
        TensorVector inputs = new TensorVector(q, k, v, p.featureQ().weight(), p.featureK().weight());
        TensorVector g = torch.grad(new TensorVector(y.mul(weights).sum()), inputs);
        Tensor[] out = new Tensor[(int) g.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = g.get(i).detach().clone();
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(ComputeType.class)
    void trainingUsesBf16ProductsExactlyWhenItsMatmulsAreBf16(ComputeType type) {
        try (PointerScope scope = new PointerScope()) {
            DecoderModel model = ModelLoader.load(dev.lolcats4j.testing.ParityFixtures.path("models/llama-f32"), type);
            Adapters.load(model, dev.lolcats4j.testing.ParityFixtures.path("adapters/llama-f32-sw"));
            BlockProducts chosen = Adapters.useTrainingBlockProducts(model.layers());
            assertEquals(type == ComputeType.BF16 ? BlockProducts.BF16 : BlockProducts.INPUT, chosen);
            for (DecoderLayer layer : model.layers()) {
                if (layer.attention() instanceof HybridAttention hybrid) {
                    assertEquals(chosen, hybrid.blockProducts());
                    assertEquals(chosen, hybrid.withSparseCache(4).blockProducts(), "a sparse cache keeps the choice");
                }
            }
        }
    }
}
