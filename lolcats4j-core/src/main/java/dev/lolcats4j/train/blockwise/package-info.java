/**
 * Block-wise attention transfer: stage 1 for models too big for one process.
 *
 * <p>The frozen teacher runs once over the transfer data and writes, for every block of
 * {@code k} layers, the hidden states entering that block to a {@linkplain HiddenStateCache
 * hidden-state cache}. Each block is then one {@link BlockJobSpec job}: it loads only its own
 * layers, trains their feature maps and window factors from its cached inputs with the
 * stage-1 loss, and writes its block adapter. A {@link BlockRunner} decides where jobs run
 * (in this process, or one Spark task per block); {@link BlockStitcher} joins the block
 * adapters into one adapter folder that stage 2 continues from.
 *
 * <h2>Contract between jobs and runners</h2>
 * <ul>
 *   <li>Every path in a {@link BlockJobSpec} (model, cache, run folder) must be readable, and
 *       the run folder writable, from every process that may run the job: on a cluster, a
 *       shared file system mounted at the same path everywhere.</li>
 *   <li>{@link BlockJob#run(BlockJobSpec)} may be called any number of times, in any JVM,
 *       after {@link dev.lolcats4j.torch.Natives#init()} (it calls it itself). A finished
 *       block (its done marker exists) returns at once without reading the model or the cache;
 *       an interrupted one resumes from its last checkpoint.</li>
 *   <li>A job's outputs appear atomically: the block adapter is complete before the done
 *       marker is renamed into place, and nothing else marks a block finished.</li>
 *   <li>Two attempts of the same block must not run at the same time (turn speculative
 *       execution off); attempts of different blocks never share files.</li>
 * </ul>
 */
package dev.lolcats4j.train.blockwise;
