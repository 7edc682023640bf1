package io.hicache.flux.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.util.ConfigJson;
import io.hicache.flux.ModelFiles;
import java.io.IOException;
import java.nio.file.Path;

/** The T5 v1.1 encoder fields of {@code text_encoder_2/config.json} (transformers' T5Config). */
public final class T5Config {
    public final int dModel;
    public final int dFf;
    public final int dKv;
    public final int numHeads;
    public final int numLayers;
    public final int vocabSize;
    public final int relativeAttentionNumBuckets;
    public final int relativeAttentionMaxDistance;
    public final double layerNormEpsilon;

    public T5Config(int dModel, int dFf, int dKv, int numHeads, int numLayers, int vocabSize,
            int relativeAttentionNumBuckets, int relativeAttentionMaxDistance, double layerNormEpsilon) {
        this.dModel = dModel;
        this.dFf = dFf;
        this.dKv = dKv;
        this.numHeads = numHeads;
        this.numLayers = numLayers;
        this.vocabSize = vocabSize;
        this.relativeAttentionNumBuckets = relativeAttentionNumBuckets;
        this.relativeAttentionMaxDistance = relativeAttentionMaxDistance;
        this.layerNormEpsilon = layerNormEpsilon;
    }

    /** google/t5-v1_1-xxl, the encoder FLUX.1 uses. */
    public static T5Config xxl() {
        return new T5Config(4096, 10240, 64, 64, 24, 32128, 32, 128, 1e-6);
    }

    /** A tiny encoder of the same architecture, for tests and the built-in tiny model. */
    public static T5Config tiny() {
        return new T5Config(32, 64, 8, 4, 2, TinyT5.VOCAB_SIZE, 32, 128, 1e-6);
    }

    public int innerDim() {
        return numHeads * dKv;
    }

    /** Reads {@code dir/config.json}; only the gated-GELU feed-forward of T5 v1.1 is supported. */
    public static T5Config read(Path dir) throws IOException {
        ConfigJson c = ModelFiles.readConfig(dir, "config.json");
        String ffn = c.getString("feed_forward_proj", "relu");
        if (!ffn.equals("gated-gelu")) {
            throw c.invalid("feed_forward_proj '" + ffn + "' is not supported: FLUX uses T5 v1.1 with gated-gelu");
        }
        T5Config t = new T5Config(
                c.requireInt("d_model", 1, ConfigJson.MAX_WIDTH),
                c.requireInt("d_ff", 1, ConfigJson.MAX_WIDTH),
                c.requireInt("d_kv", 1, ConfigJson.MAX_WIDTH),
                c.requireInt("num_heads", 1, ConfigJson.MAX_HEADS),
                c.requireInt("num_layers", 1, ConfigJson.MAX_LAYERS),
                c.requireInt("vocab_size", 1, ConfigJson.MAX_VOCABULARY),
                // transformers' T5Config defaults, used when the key is absent
                c.getInt("relative_attention_num_buckets", 32, 4, ConfigJson.MAX_POSITIONS),
                c.getInt("relative_attention_max_distance", 128, 1, ConfigJson.MAX_POSITIONS),
                c.getDouble("layer_norm_epsilon", 1e-6));
        if (t.layerNormEpsilon <= 0 || t.layerNormEpsilon >= 1) {
            throw c.invalid("layer_norm_epsilon must be in (0, 1), got " + t.layerNormEpsilon);
        }
        if (t.relativeAttentionNumBuckets < 4 || t.relativeAttentionNumBuckets % 4 != 0) {
            throw c.invalid("relative_attention_num_buckets must be a positive multiple of 4");
        }
        return t;
    }

    /** The config.json transformers writes for a T5EncoderModel with these values. */
    public String toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putArray("architectures").add("T5EncoderModel");
        o.put("model_type", "t5");
        o.put("d_model", dModel);
        o.put("d_ff", dFf);
        o.put("d_kv", dKv);
        o.put("num_heads", numHeads);
        o.put("num_layers", numLayers);
        o.put("vocab_size", vocabSize);
        o.put("relative_attention_num_buckets", relativeAttentionNumBuckets);
        o.put("relative_attention_max_distance", relativeAttentionMaxDistance);
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("feed_forward_proj", "gated-gelu");
        o.put("dense_act_fn", "gelu_new");
        o.put("is_gated_act", true);
        o.put("tie_word_embeddings", false);
        o.put("pad_token_id", 0);
        o.put("eos_token_id", 1);
        o.put("torch_dtype", "bfloat16");
        return o.toPrettyString();
    }
}
