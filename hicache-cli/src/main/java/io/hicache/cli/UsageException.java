package io.hicache.cli;

/**
 * A bad option, input file or configuration, found before or instead of generating: the command
 * exits with code 2 and prints the message as one line.
 */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
