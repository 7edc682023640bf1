package io.hicache.core.pipeline;

/**
 * What a model samples with when the user says nothing: its native size, step count, embedded
 * guidance scale and true classifier-free guidance scale. These travel with the model (FLUX.1-dev:
 * 1024², 50 steps, guidance 3.5; FLUX.1-schnell: 4 steps, no guidance; Qwen-Image: 1328², 50 steps,
 * true CFG 4.0); an explicit option always wins.
 *
 * @param guidance the embedded (distilled) guidance scale; 0 for a model without guidance embedding
 * @param trueCfgScale the true CFG scale applied when a negative prompt is given; 1 for none
 */
public record ModelDefaults(int width, int height, int steps, double guidance, double trueCfgScale) {
    public ModelDefaults {
        if (width < 16 || height < 16 || width % 16 != 0 || height % 16 != 0 || steps < 1 || !(guidance >= 0)
                || !(trueCfgScale >= 0)) {
            throw new IllegalArgumentException("invalid model defaults: " + width + "x" + height + ", " + steps
                    + " steps, guidance " + guidance + ", true CFG " + trueCfgScale);
        }
    }
}
