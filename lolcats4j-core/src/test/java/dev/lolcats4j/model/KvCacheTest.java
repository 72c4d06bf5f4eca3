package dev.lolcats4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lolcats4j.torch.Natives;
import dev.lolcats4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KvCacheTest {

    @BeforeAll
    static void init() {
        Natives.init();
    }

    @Test
    void withoutAHintTheCapacityDoublesAndEveryAppendedKeyIsKept() {
        KvCache cache = new KvCache();
        Tensor all = torch.randn(new long[] {1, 2, 40, 4}, Tensors.options(Tensors.F32));
        cache.append(all.narrow(2, 0, 20), all.narrow(2, 0, 20));
        assertEquals(20, cache.capacity());
        Tensor[] kv = cache.append(all.narrow(2, 20, 20), all.narrow(2, 20, 20));
        assertEquals(40, cache.capacity());
        assertArrayEquals(Tensors.toFloats(all), Tensors.toFloats(kv[0].contiguous()));
        cache.append(all.narrow(2, 0, 1), all.narrow(2, 0, 1));
        assertEquals(80, cache.capacity(), "one past the end doubles");
    }

    @Test
    void withTheExpectedPositionsItAllocatesOnceForThemAll() {
        KvCache cache = new KvCache();
        cache.expectPositions(41);
        Tensor all = torch.randn(new long[] {1, 2, 41, 4}, Tensors.options(Tensors.F32));
        cache.append(all.narrow(2, 0, 32), all.narrow(2, 0, 32));
        assertEquals(41, cache.capacity());
        for (int t = 32; t < 41; t++) {
            cache.append(all.narrow(2, t, 1), all.narrow(2, t, 1));
        }
        assertEquals(41, cache.capacity(), "no growth up to the expected positions");
        assertEquals(2L * 1 * 2 * 41 * 4 * 4, cache.bytes()); // keys and values, B=1, Hkv=2, 41 positions, d=4, float32
    }
}
