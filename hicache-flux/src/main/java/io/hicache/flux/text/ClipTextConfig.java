package io.hicache.flux.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;

/** The fields of {@code text_encoder/config.json} (transformers' CLIPTextConfig) the encoder uses. */
public final class ClipTextConfig {
    /** {@code hidden_act} values the MLP supports. */
    public enum Activation {
        /** x·sigmoid(1.702·x), OpenAI CLIP. */
        QUICK_GELU("quick_gelu"),
        /** exact erf GELU. */
        GELU("gelu");

        public final String configName;

        Activation(String configName) {
            this.configName = configName;
        }
    }

    /** transformers keeps the argmax pooling rule for configs that still carry this old eos id. */
    static final int LEGACY_EOS_TOKEN_ID = 2;

    public final int vocabSize;
    public final int hiddenSize;
    public final int intermediateSize;
    public final int numLayers;
    public final int numHeads;
    public final int maxPositions;
    public final Activation activation;
    public final double layerNormEps;
    public final int eosTokenId;

    public ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
            int maxPositions, Activation activation, double layerNormEps, int eosTokenId) {
        this.vocabSize = vocabSize;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.numLayers = numLayers;
        this.numHeads = numHeads;
        this.maxPositions = maxPositions;
        this.activation = activation;
        this.layerNormEps = layerNormEps;
        this.eosTokenId = eosTokenId;
    }

    /** openai/clip-vit-large-patch14's text tower, as FLUX.1 ships it. */
    public static ClipTextConfig large() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, Activation.QUICK_GELU, 1e-5, LEGACY_EOS_TOKEN_ID);
    }

    /** A tiny text tower of the same architecture whose vocabulary is {@link TinyClip}'s. */
    public static ClipTextConfig tiny() {
        return new ClipTextConfig(TinyClip.VOCAB_SIZE, 32, 64, 2, 4, 77, Activation.QUICK_GELU, 1e-5,
                LEGACY_EOS_TOKEN_ID);
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Reads {@code dir/config.json}. */
    public static ClipTextConfig read(Path dir) throws IOException {
        ConfigJson c = ModelFiles.readConfig(dir, "config.json");
        String act = c.getString("hidden_act", "quick_gelu");
        Activation activation = null;
        for (Activation a : Activation.values()) {
            if (a.configName.equals(act)) {
                activation = a;
            }
        }
        if (activation == null) {
            throw c.invalid("hidden_act '" + act + "' is not supported (quick_gelu or gelu)");
        }
        ClipTextConfig t = new ClipTextConfig(
                c.requireInt("vocab_size", 1, ConfigJson.MAX_VOCABULARY),
                c.requireInt("hidden_size", 1, ConfigJson.MAX_WIDTH),
                c.requireInt("intermediate_size", 1, ConfigJson.MAX_WIDTH),
                c.requireInt("num_hidden_layers", 1, ConfigJson.MAX_LAYERS),
                c.requireInt("num_attention_heads", 1, ConfigJson.MAX_HEADS),
                c.requireInt("max_position_embeddings", 1, ConfigJson.MAX_POSITIONS),
                activation,
                // transformers' CLIPTextConfig defaults, used when the key is absent
                c.getDouble("layer_norm_eps", 1e-5),
                c.getInt("eos_token_id", LEGACY_EOS_TOKEN_ID, 0, ConfigJson.MAX_VOCABULARY));
        if (t.layerNormEps <= 0 || t.layerNormEps >= 1) {
            throw c.invalid("layer_norm_eps must be in (0, 1), got " + t.layerNormEps);
        }
        if (t.hiddenSize % t.numHeads != 0) {
            throw c.invalid("hidden_size " + t.hiddenSize + " is not a multiple of num_attention_heads " + t.numHeads);
        }
        return t;
    }

    /** The config.json transformers writes for a CLIPTextModel with these values. */
    public String toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putArray("architectures").add("CLIPTextModel");
        o.put("model_type", "clip_text_model");
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("max_position_embeddings", maxPositions);
        o.put("hidden_act", activation.configName);
        o.put("layer_norm_eps", layerNormEps);
        o.put("projection_dim", hiddenSize);
        o.put("bos_token_id", 0);
        o.put("eos_token_id", eosTokenId);
        o.put("pad_token_id", 1);
        o.put("torch_dtype", "bfloat16");
        return o.toPrettyString();
    }
}
