package dev.lolcats4j.model;

import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's intra-op thread count is one setting for the whole process. A Java decode step
 * lowers it to 1 for its few small libtorch calls and restores it afterwards; with two models
 * decoding on two threads, a plain save-set-restore lets one step restore the other's "1"
 * for good. So the first step in saves the setting and the last one out restores it.
 */
final class TorchThreads {

    private static final Object LOCK = new Object();
    private static int inside;
    private static int saved;

    private TorchThreads() {}

    static void enterSingle() {
        synchronized (LOCK) {
            if (inside++ == 0) {
                saved = torch.get_num_threads();
                torch.set_num_threads(1);
            }
        }
    }

    static void exitSingle() {
        synchronized (LOCK) {
            if (--inside == 0) {
                torch.set_num_threads(saved);
            }
        }
    }
}
