package io.hicache.cli;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code --output-type}: which files each image produces. */
enum OutputType {
    /** {@code img_<i>.png}. */
    PNG,
    /** {@code img_<i>.safetensors} with the final latents; the VAE is not loaded. */
    LATENT,
    /** Both. */
    BOTH;

    static OutputType parse(String text) {
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "png":
            case "image":
                return PNG;
            case "latent":
            case "latents":
                return LATENT;
            case "both":
                return BOTH;
            default:
                throw new UsageException("--output-type '" + text + "': use png, latent or both");
        }
    }

    boolean writesPng() {
        return this != LATENT;
    }

    boolean writesLatents() {
        return this != PNG;
    }

    static String pngName(Job job) {
        return job.stem() + ".png";
    }

    static String latentsName(Job job) {
        return job.stem() + ".safetensors";
    }

    /** The files of one image, the main one first. */
    List<String> fileNames(Job job) {
        List<String> names = new ArrayList<>(2);
        if (writesPng()) {
            names.add(pngName(job));
        }
        if (writesLatents()) {
            names.add(latentsName(job));
        }
        return names;
    }

    @JsonValue
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
