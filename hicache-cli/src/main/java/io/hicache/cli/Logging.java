package io.hicache.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;

/**
 * Logging of a generation run, set up in code because it depends on the options: the console
 * shows the launcher's INFO lines ({@code --verbose}: DEBUG with stack traces, {@code --quiet}:
 * warnings only) and other libraries' warnings; {@code hicache.log} in the output directory always
 * gets everything at DEBUG, stack traces included, for the post-mortem.
 */
final class Logging {
    private static final String OURS = "io.hicache";
    /** Marks a line for {@code hicache.log} only, when the console gets its own wording of it. */
    static final Marker FILE_ONLY = MarkerFactory.getMarker("FILE_ONLY");

    enum Verbosity {
        QUIET(Level.WARN),
        NORMAL(Level.INFO),
        VERBOSE(Level.DEBUG);

        final Level console;

        Verbosity(Level console) {
            this.console = console;
        }
    }

    private Logging() {}

    /**
     * Replaces the logging configuration with a console appender on stderr.
     *
     * @param clearLine start every line by clearing the terminal line, where a progress bar is drawn
     */
    static void console(Verbosity verbosity, boolean clearLine) {
        LoggerContext context = context();
        context.reset();
        context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
        context.getLogger(OURS).setLevel(Level.DEBUG);
        context.getLogger("ai.djl").setLevel(Level.INFO);
        // CUDA probing on machines without a driver is expected, not a warning for our users
        context.getLogger("ai.djl.util.cuda").setLevel(Level.ERROR);

        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("console");
        console.setTarget("System.err");
        console.setEncoder(encoder(context, (clearLine ? "\r\u001b[K" : "") + "%d{HH:mm:ss} %-5level %msg%n"
                + (verbosity == Verbosity.VERBOSE ? "" : "%nopex")));
        console.addFilter(new Filter<>() {
            @Override
            public FilterReply decide(ILoggingEvent event) {
                if (event.getMarkerList() != null && event.getMarkerList().contains(FILE_ONLY)) {
                    return FilterReply.DENY;
                }
                boolean ours = event.getLoggerName().startsWith(OURS);
                Level threshold = ours || verbosity == Verbosity.VERBOSE ? verbosity.console : Level.WARN;
                return event.getLevel().isGreaterOrEqual(threshold) ? FilterReply.NEUTRAL : FilterReply.DENY;
            }
        });
        console.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(console);
    }

    /** Adds a log file (appended to) until the returned handle is closed. */
    static AutoCloseable file(Path file) {
        LoggerContext context = context();
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setContext(context);
        appender.setName("file:" + file);
        appender.setFile(file.toString());
        appender.setAppend(true);
        appender.setEncoder(encoder(context, "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n"));
        appender.start();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
        return () -> {
            root.detachAppender(appender);
            appender.stop();
        };
    }

    private static PatternLayoutEncoder encoder(LoggerContext context, String pattern) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(pattern);
        encoder.start();
        return encoder;
    }

    private static LoggerContext context() {
        return (LoggerContext) LoggerFactory.getILoggerFactory();
    }
}
