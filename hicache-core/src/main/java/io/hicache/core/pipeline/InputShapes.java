package io.hicache.core.pipeline;

/**
 * The sizes a model's precomputed inputs must have, as its configuration files state them: text
 * embeddings {@code [B, L, tokenWidth]} and {@code [B, pooledWidth]}, initial noise
 * {@code [B, latentChannels, H / latentScale, W / latentScale]}.
 *
 * @param tokenWidth width D of each token embedding
 * @param pooledWidth width P of the pooled embedding, 0 for a model that takes none
 * @param latentChannels channels of the latent (initial noise, latent output)
 * @param latentScale pixels per latent position along each axis
 */
public record InputShapes(long tokenWidth, long pooledWidth, long latentChannels, int latentScale) {
    public InputShapes {
        if (tokenWidth < 1 || pooledWidth < 0 || latentChannels < 1 || latentScale < 1) {
            throw new IllegalArgumentException("invalid input shapes: token width " + tokenWidth + ", pooled width "
                    + pooledWidth + ", latent channels " + latentChannels + ", latent scale " + latentScale);
        }
    }
}
