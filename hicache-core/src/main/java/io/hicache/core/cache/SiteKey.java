package io.hicache.core.cache;

/**
 * Identifies one cached module output: the guidance branch ({@code cond}/{@code uncond}), the
 * global layer index and the module name (e.g. {@code img_attn}, {@code total}).
 */
public record SiteKey(String branch, int layer, String module) {
    /** The branch of a model run without true classifier-free guidance. */
    public static final String COND = "cond";
    public static final String UNCOND = "uncond";

    public static SiteKey of(int layer, String module) {
        return new SiteKey(COND, layer, module);
    }

    @Override
    public String toString() {
        return branch + "/" + layer + "/" + module;
    }
}
