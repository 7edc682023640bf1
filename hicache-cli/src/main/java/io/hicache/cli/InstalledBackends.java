package io.hicache.cli;

import io.hicache.core.pipeline.Backend;
import java.util.Iterator;

/** The names of the backends on the class path, for help texts and shell completion. */
final class InstalledBackends implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return Backend.available().stream().map(Backend::name).iterator();
    }
}
