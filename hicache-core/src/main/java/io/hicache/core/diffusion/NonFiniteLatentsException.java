package io.hicache.core.diffusion;

/** The denoised latents hold NaN or infinite values: the generation has nothing to decode or save. */
public final class NonFiniteLatentsException extends RuntimeException {
    public NonFiniteLatentsException() {
        super("the denoised latents contain NaN or infinite values");
    }
}
