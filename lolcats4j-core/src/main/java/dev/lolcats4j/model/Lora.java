package dev.lolcats4j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * A low-rank update kept apart from its base weight: delta W = scale * B A.
 *
 * @param a [r, in] float32
 * @param b [out, r] float32
 * @param scale alpha / r
 * @param dropout dropout on the LoRA input while gradients are recorded (training); 0 = none
 */
public record Lora(Tensor a, Tensor b, double scale, double dropout) {}
