package dev.lolcats4j.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Natives.init makes libtorch flush denormal floats to zero on the calling thread (a sharp
 * softmax otherwise slows training several-fold; see Natives.init).
 */
class DenormalFlushTest {

    /** 1e-39 is below Float.MIN_NORMAL (1.18e-38): a denormal. */
    private static final float DENORMAL = 1e-39f;

    @Test
    void denormalsBecomeZeroOnTheInitThreadAndOnOtherThreadsThatCallInit() throws Exception {
        assumeTrue(System.getProperty("os.arch").matches("amd64|x86_64"), "MXCSR flags exist on x86 only");
        Natives.init();
        assertEquals(0f, doubledDenormal(), "init thread");
        AtomicReference<Object> other = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                Natives.init();
                other.set(doubledDenormal());
            } catch (Throwable t) {
                other.set(t);
            }
        });
        thread.start();
        thread.join();
        assertEquals(0f, other.get(), "another thread after Natives.init");
    }

    /** 2 x a denormal in libtorch: 2e-39 without flushing, 0 with flush-to-zero or denormals-are-zero. */
    private static float doubledDenormal() {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Tensors.ofFloats(new float[] {DENORMAL}, 1).mul(Tensors.scalar(2.0));
            return Tensors.toFloats(t)[0];
        }
    }
}
