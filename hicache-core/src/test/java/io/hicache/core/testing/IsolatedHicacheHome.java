package io.hicache.core.testing;

import io.hicache.core.util.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Points {@code hicache.home} (where built-in models are generated) at a fresh temporary directory
 * for a test class, so tests never touch or depend on the user's cache. Use with
 * {@code @ExtendWith(IsolatedHicacheHome.class)}.
 */
public final class IsolatedHicacheHome implements BeforeAllCallback, AfterAllCallback {
    private static final String KEY = "hicache.home";
    private String previous;
    private Path home;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        previous = System.getProperty(KEY);
        home = Files.createTempDirectory("hicache-home-");
        System.setProperty(KEY, home.toString());
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (previous == null) {
            System.clearProperty(KEY);
        } else {
            System.setProperty(KEY, previous);
        }
        FileTrees.delete(home);
    }

    /** The home of the running test class. */
    public static Path current() {
        return Path.of(System.getProperty(KEY));
    }
}
