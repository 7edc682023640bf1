package io.hicache.core.testing;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
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
        Files.walkFileTree(home, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** The home of the running test class. */
    public static Path current() {
        return Path.of(System.getProperty(KEY));
    }
}
