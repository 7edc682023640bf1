package io.hicache.qwen.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import io.hicache.qwen.vision.QwenVisionConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The language-model fields of {@code text_encoder/config.json} ({@code Qwen2_5_VLConfig}), read
 * strictly: every field the computation depends on must be present and have a value this encoder
 * implements (SiLU MLP, mRoPE or default RoPE, no sliding window). The fields are read from the top
 * level, where the legacy config keeps them, or from {@code text_config} when the file has one
 * (newer transformers nest them there).
 *
 * @param hiddenSize model width
 * @param intermediateSize MLP width
 * @param numLayers decoder layers
 * @param numHeads query heads
 * @param numKeyValueHeads key/value heads (GQA), dividing numHeads
 * @param vocabSize rows of the token embedding
 * @param rmsNormEps RMSNorm epsilon
 * @param ropeTheta RoPE base
 * @param mropeSection frequencies per position axis (temporal, height, width); they sum to headDim/2
 */
public record QwenTextConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKeyValueHeads,
        int vocabSize, double rmsNormEps, double ropeTheta, int[] mropeSection) {
    public static final String MODEL_TYPE = "qwen2_5_vl";

    public QwenTextConfig {
        mropeSection = mropeSection.clone();
        if (hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || numKeyValueHeads <= 0
                || vocabSize <= 0) {
            throw new IllegalArgumentException("sizes must be positive");
        }
        if (hiddenSize % numHeads != 0 || (hiddenSize / numHeads) % 2 != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " must split into " + numHeads
                    + " heads of an even width");
        }
        if (numHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_key_value_heads " + numKeyValueHeads + " must divide num_attention_heads "
                    + numHeads);
        }
        if (mropeSection.length != 3 || Arrays.stream(mropeSection).anyMatch(s -> s < 0)
                || Arrays.stream(mropeSection).sum() != hiddenSize / numHeads / 2) {
            throw new IllegalArgumentException("mrope_section " + Arrays.toString(mropeSection)
                    + " must be three non-negative counts summing to head_dim/2 = " + hiddenSize / numHeads / 2);
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("rms_norm_eps and rope_theta must be positive");
        }
    }

    /** The language model of Qwen2.5-VL-7B-Instruct, Qwen-Image's text encoder. */
    public static QwenTextConfig qwen25Vl7b() {
        return new QwenTextConfig(3584, 18944, 28, 28, 4, 152064, 1e-6, 1e6, new int[] {16, 24, 24});
    }

    /** A tiny model of the same architecture (2 kv heads serving 2 q heads each, head width 8). */
    public static QwenTextConfig tiny() {
        return new QwenTextConfig(32, 48, 2, 4, 2, 640, 1e-6, 1e6, new int[] {2, 1, 1});
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Width of the key and value projections. */
    public int kvDim() {
        return numKeyValueHeads * headDim();
    }

    /** Reads {@code dir/config.json}. */
    public static QwenTextConfig read(Path dir) throws IOException {
        ConfigJson root = ConfigJson.read(dir.resolve("config.json"));
        String type = root.getString("model_type", null);
        if (!MODEL_TYPE.equals(type)) {
            throw root.invalid("model_type must be '" + MODEL_TYPE + "' (Qwen2.5-VL, Qwen-Image's text encoder), got "
                    + (type == null ? "none" : "'" + type + "'"));
        }
        ConfigJson nested = root.getObject("text_config");
        ConfigJson c = nested != null ? nested : root;
        String act = c.getString("hidden_act", null);
        if (!"silu".equals(act)) {
            throw c.invalid("hidden_act must be 'silu', got " + (act == null ? "none" : "'" + act + "'"));
        }
        if (c.getBoolean("use_sliding_window", false)) {
            throw c.invalid("use_sliding_window is true: sliding-window attention is not implemented");
        }
        ConfigJson scaling = c.getObject("rope_scaling");
        if (scaling == null) {
            throw c.invalid("missing field 'rope_scaling' with the mrope_section of Qwen2.5-VL");
        }
        String ropeType = scaling.getString("type", scaling.getString("rope_type", "default"));
        if (!ropeType.equals("mrope") && !ropeType.equals("default")) {
            throw c.invalid("rope_scaling type '" + ropeType + "' is not supported (only mrope / default)");
        }
        try {
            return new QwenTextConfig(
                    c.requireInt("hidden_size"),
                    c.requireInt("intermediate_size"),
                    c.requireInt("num_hidden_layers"),
                    c.requireInt("num_attention_heads"),
                    c.requireInt("num_key_value_heads"),
                    c.requireInt("vocab_size"),
                    c.requireDouble("rms_norm_eps"),
                    c.requireDouble("rope_theta"),
                    scaling.requireIntArray("mrope_section"));
        } catch (IllegalArgumentException e) {
            throw c.invalid(e.getMessage());
        }
    }

    /**
     * The config.json of a {@code Qwen2_5_VLForConditionalGeneration} with this language model, in
     * the legacy flat layout Qwen-Image ships, with the tiny vision tower of {@link QwenVisionConfig#tiny}.
     */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.putArray("architectures").add("Qwen2_5_VLForConditionalGeneration");
        o.put("model_type", MODEL_TYPE);
        o.put("hidden_act", "silu");
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("vocab_size", vocabSize);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        ObjectNode scaling = o.putObject("rope_scaling").put("type", "mrope");
        ArrayNode section = scaling.putArray("mrope_section");
        Arrays.stream(mropeSection).forEach(section::add);
        scaling.put("rope_type", "default");
        o.put("max_position_embeddings", 128000);
        o.put("max_window_layers", numLayers);
        o.put("sliding_window", 32768);
        o.put("use_sliding_window", false);
        o.put("tie_word_embeddings", false);
        o.put("attention_dropout", 0.0);
        o.put("initializer_range", 0.02);
        o.put("use_cache", true);
        o.put("bos_token_id", 151643);
        o.put("eos_token_id", 151645);
        o.put("torch_dtype", "bfloat16");
        QwenVisionConfig.tiny(hiddenSize).writeJson(o.putObject("vision_config"));
        return o.toPrettyString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QwenTextConfig c && hiddenSize == c.hiddenSize && intermediateSize == c.intermediateSize
                && numLayers == c.numLayers && numHeads == c.numHeads && numKeyValueHeads == c.numKeyValueHeads
                && vocabSize == c.vocabSize && rmsNormEps == c.rmsNormEps && ropeTheta == c.ropeTheta
                && Arrays.equals(mropeSection, c.mropeSection);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mropeSection) * 31 + hiddenSize;
    }

    @Override
    public int[] mropeSection() {
        return mropeSection.clone();
    }

    @Override
    public String toString() {
        return "QwenTextConfig[hidden " + hiddenSize + ", intermediate " + intermediateSize + ", layers " + numLayers
                + ", heads " + numHeads + "/" + numKeyValueHeads + " kv, vocab " + vocabSize + ", mrope "
                + Arrays.toString(mropeSection) + "]";
    }
}
