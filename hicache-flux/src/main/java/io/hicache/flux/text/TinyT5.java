package io.hicache.flux.text;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.text.HfTokenizers;
import io.hicache.core.util.AtomicFiles;
import io.hicache.core.weights.TinyWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a tiny T5 v1.1 encoder ({@code text_encoder_2/}) and a matching unigram tokenizer
 * ({@code tokenizer_2/}) in the layout of the real FLUX folders.
 */
public final class TinyT5 {
    /** Model vocabulary; like the real one it is larger than the tokenizer's (32128 vs 32100). */
    public static final int VOCAB_SIZE = 128;
    /** Whole words cost less than their letters, so known words stay one piece. */
    static final double WORD_SCORE = -6.0;
    static final double CHAR_SCORE = -10.0;
    static final double SPACE_SCORE = -4.0;
    static final List<String> WORDS = List.of("a", "an", "the", "of", "in", "on", "with", "and", "photo",
            "cat", "dog", "red", "blue", "car", "city", "night", "astronaut", "riding", "horse", "mountain",
            "portrait", "painting", "forest", "sunset");
    static final String CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;\"()";

    private TinyT5() {}

    /** {@link T5Config#tiny()} weights in {@code dir}: one file, or two shards with an index. */
    public static void write(Path dir, long seed, TensorType dtype, boolean sharded) throws IOException {
        write(dir, T5Config.tiny(), seed, dtype, sharded);
    }

    /**
     * config.json and weights initialised as transformers' T5 does (embedding N(0, 1), attention and
     * feed-forward N(0, 1/√fan_in), position bias N(0, 1/√d_model)); norm weights near one.
     */
    public static void write(Path dir, T5Config c, long seed, TensorType dtype, boolean sharded) throws IOException {
        write(dir, c, seed, dtype, sharded, null);
    }

    /**
     * As {@link #write(Path, T5Config, long, TensorType, boolean)}, but head h of the relative
     * position bias looks only at the word {@code neighbourOffsets[h]} places away (bias
     * {@link #NEIGHBOUR_BIAS} there, 0 elsewhere). A random T5 barely mixes its words: its bias is
     * small, so every word attends almost uniformly over the padded prompt and comes out nearly as
     * it went in. FLUX gives text tokens no positions of their own, so such an encoder hands the
     * transformer a bag of words in which "a red star on a blue background" and "a blue star on a
     * red background" are the same. Neighbour heads make each word carry its neighbours ("blue"
     * followed by "background"), which is what lets a model trained on these outputs bind words.
     */
    public static void writeWithNeighbourHeads(Path dir, T5Config c, long seed, TensorType dtype, int... neighbourOffsets)
            throws IOException {
        if (neighbourOffsets.length != c.numHeads) {
            throw new IllegalArgumentException("one neighbour offset per head: " + c.numHeads + " heads, "
                    + neighbourOffsets.length + " offsets");
        }
        float[] bias = new float[c.relativeAttentionNumBuckets * c.numHeads];
        for (int h = 0; h < c.numHeads; h++) {
            int bucket = T5Encoder.relativePositionBucket(neighbourOffsets[h], c.relativeAttentionNumBuckets,
                    c.relativeAttentionMaxDistance);
            bias[bucket * c.numHeads + h] = NEIGHBOUR_BIAS;
        }
        write(dir, c, seed, dtype, false, bias);
    }

    /** Large enough that a neighbour head's softmax is all but one-hot over a 32-token prompt (e^10 ≫ 31). */
    public static final float NEIGHBOUR_BIAS = 10f;

    private static void write(Path dir, T5Config c, long seed, TensorType dtype, boolean sharded, float[] relativeBias)
            throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), c.toJson());
        TinyWeights w = new TinyWeights(seed).fill(T5Encoder.spec(c), name -> {
            if (name.equals(T5Encoder.EMBEDDING)) {
                return 1.0;
            }
            if (name.endsWith("SelfAttention.q.weight")) {
                return 1 / Math.sqrt((double) c.dModel * c.dKv);
            }
            if (name.endsWith("SelfAttention.o.weight")) {
                return 1 / Math.sqrt(c.innerDim());
            }
            if (name.endsWith("DenseReluDense.wo.weight")) {
                return 1 / Math.sqrt(c.dFf);
            }
            return 1 / Math.sqrt(c.dModel); // k, v, wi_0, wi_1, relative_attention_bias
        });
        if (relativeBias != null) {
            w.replace(T5Encoder.RELATIVE_BIAS, relativeBias);
        }
        if (sharded) {
            w.writeSharded(dir, "model", 2, dtype);
        } else {
            w.write(dir.resolve("model.safetensors"), dtype);
        }
    }

    /**
     * A unigram {@code tokenizer.json} in the shape of T5's: {@code <pad>}=0, {@code </s>}=1,
     * {@code <unk>}=2, whitespace split with a {@code ▁} marking each word start, a few whole words
     * and single characters, and a post-processor appending {@code </s>}.
     */
    public static void writeTokenizer(Path dir) throws IOException {
        writeTokenizer(dir, WORDS, T5Tokenizer.DEV_MAX_LENGTH);
    }

    /**
     * As {@link #writeTokenizer(Path)} with {@code words} as the whole-word pieces and
     * {@code modelMaxLength} as the tokenizer's {@code model_max_length} (the longest a prompt is
     * padded to).
     */
    public static void writeTokenizer(Path dir, List<String> words, int modelMaxLength) throws IOException {
        Files.createDirectories(dir);
        ObjectNode root = HfTokenizers.JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        List<String> specials = List.of(T5Tokenizer.PAD, T5Tokenizer.EOS, "<unk>");
        for (int i = 0; i < specials.size(); i++) {
            added.addObject().put("id", i).put("content", specials.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ArrayNode normalizers = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
        normalizers.addObject().put("type", "NFKC");
        ObjectNode spaces = normalizers.addObject().put("type", "Replace");
        spaces.putObject("pattern").put("Regex", " {2,}");
        spaces.put("content", " ");
        ArrayNode pre = root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
        pre.addObject().put("type", "WhitespaceSplit");
        pre.addObject().put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "always")
                .put("split", true);
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        single.addObject().putObject("SpecialToken").put("id", T5Tokenizer.EOS).put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", T5Tokenizer.EOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", T5Tokenizer.EOS).put("type_id", 0);
        ObjectNode eos = post.putObject("special_tokens").putObject(T5Tokenizer.EOS);
        eos.put("id", T5Tokenizer.EOS);
        eos.putArray("ids").add(1);
        eos.putArray("tokens").add(T5Tokenizer.EOS);
        root.putObject("decoder").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "always")
                .put("split", true);
        ObjectNode model = root.putObject("model").put("type", "Unigram").put("unk_id", 2);
        ArrayNode vocab = model.putArray("vocab");
        for (String[] piece : pieces(words)) {
            vocab.addArray().add(piece[0]).add(Double.parseDouble(piece[1]));
        }
        model.put("byte_fallback", false);
        AtomicFiles.writeString(dir.resolve("tokenizer.json"), root.toPrettyString());
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), "{\n  \"model_max_length\": " + modelMaxLength + ",\n"
                + "  \"eos_token\": \"</s>\",\n  \"pad_token\": \"<pad>\",\n  \"unk_token\": \"<unk>\",\n"
                + "  \"tokenizer_class\": \"T5Tokenizer\"\n}\n");
    }

    /** The unigram pieces with their scores, in id order. */
    static List<String[]> pieces(List<String> words) {
        List<String[]> out = new ArrayList<>();
        for (String s : List.of(T5Tokenizer.PAD, T5Tokenizer.EOS, "<unk>")) {
            out.add(new String[] {s, "0.0"});
        }
        out.add(new String[] {"▁", Double.toString(SPACE_SCORE)});
        for (String w : words) {
            out.add(new String[] {"▁" + w, Double.toString(WORD_SCORE)});
        }
        for (char ch : CHARACTERS.toCharArray()) {
            out.add(new String[] {String.valueOf(ch), Double.toString(CHAR_SCORE)});
        }
        if (out.size() > VOCAB_SIZE) {
            throw new IllegalStateException("tiny T5 tokenizer outgrew the model vocabulary");
        }
        return out;
    }
}
