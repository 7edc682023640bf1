package io.hicache.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TorchScriptArchive;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The training graphs (the resource {@code shapes-training.torchscript}): the AutoencoderKL and the
 * FLUX transformer written once more, as TorchScript, with their losses. Weights travel as one
 * {@code Dict[str, Tensor]} of diffusers-named tensors, so a checkpoint is the model's own files.
 *
 * <p>Calls go through {@code IValueUtils.forward(block, NDList, isTrain)}: an array named
 * {@code module_method:<name>} picks the method and arrays named {@code w.<key>} form the Dict
 * argument. {@code IValueUtils.runMethod} would run the method in inference mode, where no gradient
 * can flow (see the project's training notes). All scalar arithmetic of the graphs lives in the
 * TorchScript source, so no Java-created scalar tensor is ever saved for backward.
 */
final class TrainingScript {
    private static final String RESOURCE = "shapes-training.torchscript";
    private final PtSymbolBlock module;

    private TrainingScript(PtSymbolBlock module) {
        this.module = module;
    }

    /** The line of the script that sets the dtype linears and convolutions multiply in. */
    private static final String MATMUL_DTYPE = "    return torch.to(x, 6)\n";

    /** Compiles the script in float32 throughout; the module belongs to {@code owner}. */
    static TrainingScript load(NDManager owner) {
        return load(owner, false);
    }

    /**
     * Compiles the script; with {@code bf16Matmuls} linears and convolutions multiply in bfloat16
     * (inputs cast inside the graph, results back to float32), everything else stays float32. DJL
     * itself only ever sees float32 tensors, so its bfloat16 abort cannot occur.
     */
    static TrainingScript load(NDManager owner, boolean bf16Matmuls) {
        HiCacheRuntime.bootstrap();
        String source;
        try (InputStream in = TrainingScript.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + RESOURCE);
            }
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (source.indexOf(MATMUL_DTYPE) < 0 || source.indexOf(MATMUL_DTYPE) != source.lastIndexOf(MATMUL_DTYPE)) {
                throw new IllegalStateException(RESOURCE + " must set the matmul dtype on exactly one line");
            }
            if (bf16Matmuls) {
                source = source.replace(MATMUL_DTYPE, MATMUL_DTYPE.replace("6)", "15)"));
            }
            byte[] archive = TorchScriptArchive.build("shapes_training", "ShapesTraining", source);
            PtSymbolBlock block = JniUtils.loadModule((PtNDManager) owner, new ByteArrayInputStream(archive), true, false);
            // profiling executors cache specialised graphs and cost memory without speed at this size
            JniUtils.setGraphExecutorOptimize(false);
            return new TrainingScript(block);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs {@code method} with {@code positional} tensors followed by {@code weights} (named
     * {@code w.<key>}, see {@link TrainableWeights}). Results are attached to {@code manager}. With
     * {@code train} the call records the autograd graph (grad mode must be on: run it inside a
     * gradient collector).
     */
    NDList run(String method, NDManager manager, List<NDArray> positional, TrainableWeights weights, boolean train) {
        NDList in = new NDList();
        NDArray marker = manager.zeros(new ai.djl.ndarray.types.Shape(1));
        marker.setName("module_method:" + method);
        in.add(marker);
        for (NDArray x : positional) {
            if (x.getName() != null && !x.getName().isEmpty()) {
                throw new IllegalArgumentException("positional tensors must be unnamed, got " + x.getName());
            }
            in.add(x);
        }
        in.addAll(weights.named());
        NDList out = IValueUtils.forward(module, in, train);
        marker.close();
        return out;
    }
}
