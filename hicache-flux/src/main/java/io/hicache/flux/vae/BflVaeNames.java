package io.hicache.flux.vae;

import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * BFL's {@code ae.safetensors} (the LDM autoencoder naming) seen with diffusers' decoder names
 * (docs/models.md §5.4): LDM counts up levels from the narrowest, so {@code up.k} is
 * diffusers' {@code up_blocks.(levels − 1 − k)}; the mid-block attention uses 1×1 convolutions whose
 * [C, C, 1, 1] kernels are the Linear weights [C, C]; {@code nin_shortcut} is {@code conv_shortcut}.
 */
final class BflVaeNames {
    private static final Pattern MID_RESNET = Pattern.compile("mid\\.block_([12])\\.(.+)");
    private static final Pattern MID_ATTENTION = Pattern.compile("mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(weight|bias)");
    private static final Pattern UP_RESNET = Pattern.compile("up\\.(\\d+)\\.block\\.(\\d+)\\.(.+)");
    private static final Pattern UP_SAMPLE = Pattern.compile("up\\.(\\d+)\\.upsample\\.conv\\.(.+)");

    private BflVaeNames() {}

    /** The decoder tensors of {@code ae} under diffusers names; the encoder side is hidden. */
    static WeightSource decoderView(WeightSource ae, VaeConfig config) {
        RenamedWeightSource.Builder b = RenamedWeightSource.over(ae);
        for (String n : ae.names()) {
            if (n.startsWith("encoder.") || n.startsWith("quant_conv.")) {
                continue;
            }
            String target = diffusersName(n, config.levels());
            long[] shape = ae.shape(n);
            if (target.contains(".attentions.0.to_") && shape.length == 4) {
                b.map(target, n, shape[0], shape[1]);
            } else {
                b.map(target, n);
            }
        }
        return b.build();
    }

    /** The diffusers name of an LDM decoder tensor; names it does not know are kept (and then reported). */
    static String diffusersName(String ldm, int levels) {
        if (!ldm.startsWith("decoder.")) {
            return ldm;
        }
        String n = ldm.substring("decoder.".length());
        Matcher m;
        if ((m = MID_RESNET.matcher(n)).matches()) {
            n = "mid_block.resnets." + (Integer.parseInt(m.group(1)) - 1) + "." + m.group(2);
        } else if ((m = MID_ATTENTION.matcher(n)).matches()) {
            String module;
            switch (m.group(1)) {
                case "norm":
                    module = "group_norm";
                    break;
                case "proj_out":
                    module = "to_out.0";
                    break;
                default:
                    module = "to_" + m.group(1);
            }
            n = "mid_block.attentions.0." + module + "." + m.group(2);
        } else if ((m = UP_RESNET.matcher(n)).matches()) {
            n = "up_blocks." + (levels - 1 - Integer.parseInt(m.group(1))) + ".resnets." + m.group(2) + "." + m.group(3);
        } else if ((m = UP_SAMPLE.matcher(n)).matches()) {
            n = "up_blocks." + (levels - 1 - Integer.parseInt(m.group(1))) + ".upsamplers.0.conv." + m.group(2);
        } else if (n.startsWith("norm_out.")) {
            n = "conv_norm_out." + n.substring("norm_out.".length());
        }
        return "decoder." + n.replace(".nin_shortcut.", ".conv_shortcut.");
    }
}
