package io.hicache.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The project version, filtered into a resource at build time. */
public final class HiCacheVersion {
    private static final String VERSION = load();

    private HiCacheVersion() {}

    public static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = HiCacheVersion.class.getResourceAsStream("hicache-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
