package io.hicache.core.metrics;

import io.hicache.core.image.RgbImage;

final class ImageChecks {
    private ImageChecks() {}

    static void sameSize(RgbImage a, RgbImage b) {
        if (a.width() != b.width() || a.height() != b.height()) {
            throw new IllegalArgumentException("images differ in size: " + a.width() + "x" + a.height()
                    + " vs " + b.width() + "x" + b.height());
        }
    }
}
