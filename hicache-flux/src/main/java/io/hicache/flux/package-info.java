/** FLUX.1: transformer, text encoders, VAE, tokenizers and pipeline. */
package io.hicache.flux;
