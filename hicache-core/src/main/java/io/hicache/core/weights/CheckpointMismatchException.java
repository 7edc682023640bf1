package io.hicache.core.weights;

import io.hicache.core.pipeline.InvalidModelException;
import java.util.List;

/** A checkpoint whose tensor names or shapes do not match what the model expects. */
public class CheckpointMismatchException extends InvalidModelException {
    private static final long serialVersionUID = 1L;
    private static final int SHOWN = 20;
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> wrongShapes;

    public CheckpointMismatchException(String source, List<String> missing, List<String> unexpected,
            List<String> wrongShapes) {
        super(message(source, missing, unexpected, wrongShapes));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.wrongShapes = List.copyOf(wrongShapes);
    }

    private static String message(String source, List<String> missing, List<String> unexpected, List<String> wrong) {
        StringBuilder sb = new StringBuilder("checkpoint " + source + " does not match the model config:");
        section(sb, "missing", missing);
        section(sb, "unexpected", unexpected);
        section(sb, "wrong shape", wrong);
        return sb.toString();
    }

    private static void section(StringBuilder sb, String what, List<String> names) {
        if (names.isEmpty()) {
            return;
        }
        sb.append(' ').append(names.size()).append(' ').append(what).append(": ");
        sb.append(String.join(", ", names.subList(0, Math.min(SHOWN, names.size()))));
        if (names.size() > SHOWN) {
            sb.append(", … (").append(names.size() - SHOWN).append(" more)");
        }
        sb.append(';');
    }

    public List<String> missing() {
        return missing;
    }

    public List<String> unexpected() {
        return unexpected;
    }

    public List<String> wrongShapes() {
        return wrongShapes;
    }
}
